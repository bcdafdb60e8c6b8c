#version 450
// kvstore: copies n rows of keys or values [n][kv_dim] into a layer's cache
// [context][kv_dim] at sequence indices base..base+n-1, where base is
// read from the token buffer (so a recorded decode step can be replayed
// as the sequence grows). F16=1 stores float16 pairs (kv_dim is even).
// Workgroups: (ceil(kv_dim/LX), n).
#include "common.glsl"
layout(constant_id = 1) const uint F16 = 0;

layout(std430, binding = 0) readonly buffer Tokens { int tok[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) writeonly buffer Cache { uint cache[]; };
layout(push_constant) uniform P { uint kv_dim; uint cache_off; uint src_off; } p; // offsets in elements

void main() {
    uint i = gl_WorkGroupID.y;
    uint d = gl_GlobalInvocationID.x;
    uint row = uint(tok[0]) + i;
    if (F16 == 0u) {
        if (d < p.kv_dim) cache[p.cache_off + row * p.kv_dim + d] = floatBitsToUint(src[p.src_off + i * p.kv_dim + d]);
    } else {
        uint e = d * 2u;
        if (e < p.kv_dim) {
            vec2 v = vec2(src[p.src_off + i * p.kv_dim + e], src[p.src_off + i * p.kv_dim + e + 1u]);
            cache[(p.cache_off + row * p.kv_dim + e) >> 1] = packHalf2x16(v);
        }
    }
}
