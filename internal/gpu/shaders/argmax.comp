#version 450
// argmax: the index of the largest of count logits at x_off (the lowest
// index among equals, as the host's greedy pick), written to out[0], and
// out[1] = 1 when every logit is finite. One workgroup.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { int res[]; };
layout(push_constant) uniform P { uint count; uint x_off; } p;

shared float bv[LX];
shared uint bi[LX];
shared uint bad[LX];

void main() {
    uint t = gl_LocalInvocationID.x;
    float best = -1.0 / 0.0;
    uint bidx = 0xffffffffu;
    uint nonfinite = 0u;
    for (uint i = t; i < p.count; i += LX) {
        float v = x[p.x_off + i];
        if (isnan(v) || isinf(v)) { nonfinite = 1u; continue; }
        if (bidx == 0xffffffffu || v > best) { best = v; bidx = i; }
    }
    bv[t] = best; bi[t] = bidx; bad[t] = nonfinite;
    barrier();
    for (uint s = LX / 2u; s > 0u; s >>= 1) {
        if (t < s) {
            float ov = bv[t + s]; uint oi = bi[t + s];
            if (oi != 0xffffffffu && (bi[t] == 0xffffffffu || ov > bv[t] || (ov == bv[t] && oi < bi[t]))) {
                bv[t] = ov; bi[t] = oi;
            }
            bad[t] |= bad[t + s];
        }
        barrier();
    }
    if (t == 0u) { res[0] = int(bi[0]); res[1] = bad[0] == 0u ? 1 : 0; }
}
