#version 450
// add: y[y_off+i] += x[x_off+i] for count values (MODE 0), or y = x
// (MODE 2, a device-side copy). MODE 1 is the DeepStack addition: for each
// token i whose id is an extension id vocab+slot, the slot's DeepStack row
// at x_off in the sequence's static image buffer ([slot][image_stride]) is
// added to row i of y ([n][count] from y_off). Workgroups: (gx, gy) with
// index = gy*65535*LX + x for MODE 0 and 2; (ceil(count/LX), n) for MODE 1.
#include "common.glsl"
layout(constant_id = 1) const uint MODE = 0;

layout(std430, binding = 0) readonly buffer Tokens { int tok[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform P { uint count; uint x_off; uint y_off; uint vocab; uint image_stride; } p;

void main() {
    if (MODE != 1u) {
        uint d = gl_WorkGroupID.y * 65535u * LX + gl_GlobalInvocationID.x;
        if (d >= p.count) return;
        if (MODE == 0u) y[p.y_off + d] += x[p.x_off + d];
        else y[p.y_off + d] = x[p.x_off + d];
        return;
    }
    uint d = gl_GlobalInvocationID.x;
    uint i = gl_WorkGroupID.y;
    int id = tok[1u + i];
    if (d >= p.count || uint(id) < p.vocab) return;
    y[p.y_off + i * p.count + d] += x[(uint(id) - p.vocab) * p.image_stride + p.x_off + d];
}
