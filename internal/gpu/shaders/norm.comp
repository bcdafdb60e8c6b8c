#version 450
// norm: one row of d values per workgroup, y = norm(x) * weight (+ bias).
// MODE 0 is RMSNorm (the decoder), MODE 1 LayerNorm with bias (the vision
// tower). Row r reads x[x_off + r*d ..] and writes y[y_off + r*d ..]; y may
// alias x. Workgroups: (rows, 1, 1).
#include "common.glsl"
layout(constant_id = 1) const uint MODE = 0;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer B { float b[]; };
layout(push_constant) uniform P { uint d; float eps; uint x_off; uint y_off; } p;

shared float red[LX];

float total(float v) {
    red[gl_LocalInvocationID.x] = v;
    barrier();
    for (uint s = LX / 2u; s > 0u; s >>= 1) {
        if (gl_LocalInvocationID.x < s) red[gl_LocalInvocationID.x] += red[gl_LocalInvocationID.x + s];
        barrier();
    }
    float t = red[0];
    barrier();
    return t;
}

void main() {
    uint t = gl_LocalInvocationID.x;
    uint xo = p.x_off + gl_WorkGroupID.x * p.d;
    uint yo = p.y_off + gl_WorkGroupID.x * p.d;
    float mean = 0.0;
    if (MODE == 1u) {
        float s = 0.0;
        for (uint j = t; j < p.d; j += LX) s += x[xo + j];
        mean = total(s) / float(p.d);
    }
    float ss = 0.0;
    for (uint j = t; j < p.d; j += LX) {
        float v = x[xo + j] - mean;
        ss += v * v;
    }
    float inv = inversesqrt(total(ss) / float(p.d) + p.eps);
    for (uint j = t; j < p.d; j += LX) {
        float v = (x[xo + j] - mean) * inv;
        y[yo + j] = MODE == 1u ? v * w[j] + b[j] : w[j] * v;
    }
}
