#version 450
// embed: x[i] = row ids[i] of the embedding table, or, for an extension id
// vocab+slot, the image embedding of that slot from the sequence's static
// image buffer. The table may be split by rows into parts (a device's
// largest buffer binding): a dispatch per part writes the tokens whose ids
// fall in rows row0 .. row0+rows-1, and the one with images=1 the image
// tokens. Row i goes to x[x_off + i*hidden] (a batched step's rows hold
// several sequences). Workgroups: (ceil(hidden/LX), n).
#include "common.glsl"
layout(constant_id = 1) const uint TABLE = 0; // 0 float32, 1 float16, 2 bfloat16

layout(std430, binding = 0) readonly buffer Tokens { int tok[]; };  // [0] base index, [1+i] id of token i
layout(std430, binding = 1) readonly buffer Table { uint table[]; };
layout(std430, binding = 2) readonly buffer Images { float images[]; }; // [slot][image_stride]
layout(std430, binding = 3) writeonly buffer X { float x[]; };
layout(push_constant) uniform P { uint hidden; uint vocab; uint image_stride; uint row0; uint rows; uint images; uint x_off; } p;

void main() {
    uint i = gl_WorkGroupID.y;
    uint d = gl_GlobalInvocationID.x;
    if (d >= p.hidden) return;
    int id = tok[1u + i];
    float v;
    if (uint(id) < p.vocab) {
        if (uint(id) < p.row0 || uint(id) >= p.row0 + p.rows) return;
        uint e = (uint(id) - p.row0) * p.hidden + d;
        if (TABLE == 0u) {
            v = uintBitsToFloat(table[e]);
        } else if (TABLE == 1u) {
            v = half2f(table[e >> 1], e);
        } else {
            uint w = table[e >> 1];
            v = uintBitsToFloat((e & 1u) == 0u ? (w << 16) : (w & 0xffff0000u));
        }
    } else {
        if (p.images == 0u) return;
        v = images[(uint(id) - p.vocab) * p.image_stride + d];
    }
    x[p.x_off + i * p.hidden + d] = v;
}
