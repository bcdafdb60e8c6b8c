#version 450
// rope: for token i and head h, optionally RMSNorm the head (the decoder's
// QK-norm, NORM=1), then rotate it by token i's angles (rotate-half layout:
// lane j pairs with lane j+half). The angles come from the host as cos/sin
// tables [n][half] computed in float64 from explicit (t, h, w) positions
// (the same values the CPU engine uses), so the rotation is exact and GPU
// transcendental precision never matters. x is [n][row_stride] with heads
// of head_dim at x_off + h*head_dim, in place; token i's angles are at
// rot_off + i*head_dim (rot_off lets the vision tower rotate its patches in
// chunks of rows). Workgroups: (heads, n).
#include "common.glsl"
layout(constant_id = 1) const uint NORM = 1;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer Rot { float rot[]; }; // [n][2][half]: cos then sin
layout(push_constant) uniform P { uint head_dim; uint row_stride; uint x_off; float eps; float scale; uint rot_off; } p;

shared float red[LX];
shared float v[512];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint i = gl_WorkGroupID.y;
    uint base = i * p.row_stride + p.x_off + gl_WorkGroupID.x * p.head_dim;
    uint half_ = p.head_dim / 2u;
    float inv = 1.0;
    for (uint j = t; j < p.head_dim; j += LX) v[j] = x[base + j];
    if (NORM == 1u) {
        float ss = 0.0;
        for (uint j = t; j < p.head_dim; j += LX) ss += v[j] * v[j];
        red[t] = ss;
        barrier();
        for (uint s = LX / 2u; s > 0u; s >>= 1) {
            if (t < s) red[t] += red[t + s];
            barrier();
        }
        inv = inversesqrt(red[0] / float(p.head_dim) + p.eps);
    }
    barrier();
    if (NORM == 1u) {
        for (uint j = t; j < p.head_dim; j += LX) v[j] = w[j] * (v[j] * inv);
    }
    barrier();
    uint r = p.rot_off + i * 2u * half_;
    for (uint j = t; j < half_; j += LX) {
        float c = rot[r + j], s = rot[r + half_ + j];
        float a = v[j], b = v[j + half_];
        x[base + j] = (a * c - b * s) * p.scale;
        x[base + j + half_] = (b * c + a * s) * p.scale;
    }
}
