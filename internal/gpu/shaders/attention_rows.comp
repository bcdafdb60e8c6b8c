#version 450
// attention_rows: the attention kernel (attention.comp: same bindings, same
// push constants, same math) for CPU drivers such as lavapipe, where
// barriers are costly: one invocation per (query row, head), streaming the
// keys with a running maximum and sum (online softmax) and the output in
// registers — no shared memory, no barriers. head_dim ≤ HD.
// Workgroups: (heads, ceil(rows/LX)).
#include "common.glsl"
layout(constant_id = 1) const uint CAUSAL = 1;
layout(constant_id = 2) const uint F16 = 0;
layout(constant_id = 3) const uint HD = 128;

layout(std430, binding = 0) readonly buffer Tokens { int tok[]; };
layout(std430, binding = 1) readonly buffer Q { float q[]; };
layout(std430, binding = 2) readonly buffer K { uint k[]; };
layout(std430, binding = 3) readonly buffer V { uint v[]; };
layout(std430, binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform P {
    uint head_dim; uint group; uint kv_len; float scale;
    uint q_stride; uint q_off; uint kv_stride; uint k_off; uint v_off; uint o_stride; uint o_off; uint rows;
} p;

float kval(uint e) { return F16 == 1u ? half2f(k[e >> 1], e) : uintBitsToFloat(k[e]); }
float vval(uint e) { return F16 == 1u ? half2f(v[e >> 1], e) : uintBitsToFloat(v[e]); }

void main() {
    uint h = gl_WorkGroupID.x;
    uint i = gl_WorkGroupID.y * LX + gl_LocalInvocationID.x;
    if (i >= p.rows) return;
    uint kvh = h / p.group;
    uint n = CAUSAL == 1u ? uint(tok[0]) + i + 1u : p.kv_len;
    float qv[HD];
    float acc[HD];
    uint qb = i * p.q_stride + p.q_off + h * p.head_dim;
    for (uint d = 0u; d < p.head_dim; d++) {
        qv[d] = q[qb + d];
        acc[d] = 0.0;
    }
    float m = -1.0 / 0.0, l = 0.0;
    for (uint j = 0u; j < n; j++) {
        uint kb = j * p.kv_stride + p.k_off + kvh * p.head_dim;
        float s = 0.0;
        for (uint d = 0u; d < p.head_dim; d++) s += qv[d] * kval(kb + d);
        s *= p.scale;
        float mn = max(m, s);
        float corr = exp(m - mn);
        float e = exp(s - mn);
        l = l * corr + e;
        uint vb = j * p.kv_stride + p.v_off + kvh * p.head_dim;
        for (uint d = 0u; d < p.head_dim; d++) acc[d] = acc[d] * corr + e * vval(vb + d);
        m = mn;
    }
    uint ob = i * p.o_stride + p.o_off + h * p.head_dim;
    for (uint d = 0u; d < p.head_dim; d++) o[ob + d] = acc[d] / l;
}
