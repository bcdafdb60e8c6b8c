#version 450
// attention: softmax(q·kᵀ·scale)·v for one query row and one head per
// workgroup, keys streamed in chunks of LX with a running maximum and sum
// (online softmax), so any context length fits in LX floats of shared
// memory. Grouped-query: query head h reads kv head h / (heads/kv_heads).
// CAUSAL=1 (the decoder): query i of a step starting at sequence index base
// (read from the token buffer) sees keys 0..base+i of the cache, which is
// float16 when F16=1. CAUSAL=0 (the vision tower): every query sees the
// kv_len keys. Rows of q, k, v and out have strides and offsets in floats
// (the vision tower's fused qkv rows); o_off places a chunk of query rows
// (the vision tower's, in chunks of rows). Workgroups: (heads, rows).
// attention_rows.comp is the same math for CPU drivers.
#include "common.glsl"
layout(constant_id = 1) const uint CAUSAL = 1;
layout(constant_id = 2) const uint F16 = 0;
layout(constant_id = 3) const uint MAXD = 4; // head_dim <= MAXD*LX

layout(std430, binding = 0) readonly buffer Tokens { int tok[]; };
layout(std430, binding = 1) readonly buffer Q { float q[]; };
layout(std430, binding = 2) readonly buffer K { uint k[]; };
layout(std430, binding = 3) readonly buffer V { uint v[]; };
layout(std430, binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform P {
    uint head_dim; uint group; uint kv_len; float scale;
    uint q_stride; uint q_off; uint kv_stride; uint k_off; uint v_off; uint o_stride; uint o_off; uint rows;
} p;

shared float qs[MAXD * LX];
shared float ps[LX];
shared float red[LX];

float kval(uint e) { return F16 == 1u ? half2f(k[e >> 1], e) : uintBitsToFloat(k[e]); }
float vval(uint e) { return F16 == 1u ? half2f(v[e >> 1], e) : uintBitsToFloat(v[e]); }

void main() {
    uint t = gl_LocalInvocationID.x;
    uint h = gl_WorkGroupID.x, i = gl_WorkGroupID.y;
    uint kvh = h / p.group;
    uint n = CAUSAL == 1u ? uint(tok[0]) + i + 1u : p.kv_len;
    for (uint d = t; d < p.head_dim; d += LX) qs[d] = q[i * p.q_stride + p.q_off + h * p.head_dim + d];
    barrier();
    float m = -1.0 / 0.0, l = 0.0;
    float acc[MAXD];
    for (uint a = 0u; a < MAXD; a++) acc[a] = 0.0;
    for (uint c0 = 0u; c0 < n; c0 += LX) {
        uint key = c0 + t;
        float s = -1.0 / 0.0;
        if (key < n) {
            uint kb = key * p.kv_stride + p.k_off + kvh * p.head_dim;
            s = 0.0;
            for (uint d = 0u; d < p.head_dim; d++) s += qs[d] * kval(kb + d);
            s *= p.scale;
        }
        red[t] = s;
        barrier();
        for (uint st = LX / 2u; st > 0u; st >>= 1) {
            if (t < st) red[t] = max(red[t], red[t + st]);
            barrier();
        }
        float mn = max(m, red[0]);
        barrier();
        float e = key < n ? exp(s - mn) : 0.0;
        ps[t] = e;
        red[t] = e;
        barrier();
        for (uint st = LX / 2u; st > 0u; st >>= 1) {
            if (t < st) red[t] += red[t + st];
            barrier();
        }
        float corr = exp(m - mn);
        l = l * corr + red[0];
        m = mn;
        uint cn = min(LX, n - c0);
        for (uint a = 0u; a < MAXD; a++) {
            uint d = t + a * LX;
            if (d < p.head_dim) {
                float sum = 0.0;
                for (uint j = 0u; j < cn; j++) sum += ps[j] * vval((c0 + j) * p.kv_stride + p.v_off + kvh * p.head_dim + d);
                acc[a] = acc[a] * corr + sum;
            }
        }
        barrier();
    }
    for (uint a = 0u; a < MAXD; a++) {
        uint d = t + a * LX;
        if (d < p.head_dim) o[p.o_off + i * p.o_stride + h * p.head_dim + d] = acc[a] / l;
    }
}
