#version 450
// bandwidth: reads count words and writes one sum per workgroup, so the
// bench can time the device's read bandwidth with a kernel of its own.
// Workgroups: (groups); each reads a contiguous share of the buffer.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Out { uint res[]; };
layout(push_constant) uniform P { uint count; uint per_group; } p; // in uvec4s

void main() {
    uint t = gl_LocalInvocationID.x;
    uint lo = gl_WorkGroupID.x * p.per_group;
    uint hi = min(lo + p.per_group, p.count);
    uvec4 s = uvec4(0u);
    for (uint i = lo + t; i < hi; i += LX) s ^= src[i];
    if (s.x == 0x9e3779b9u && s.y == 0u) res[gl_WorkGroupID.x] = s.z; // almost never: keeps the reads live
}
