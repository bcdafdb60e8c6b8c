#version 450
// matmul: y[j][r] (+)= sum_c W[r][c] * x[j][c] (+ bias[r]) for tokens j of
// x [n][cols] and rows r of W [rows][cols]. W is int8 with one float16 scale
// per block of 32 columns (FORMAT 0, the quant.Matrix layout) or float32
// (FORMAT 1). A workgroup computes ROWS rows for TN tokens, so each weight
// block is read once per TN tokens: TN=1 is decode's matrix-vector product,
// larger TN the prefill GEMM. Threads split a row's blocks; the partial sums
// meet in shared memory. Workgroups: (gx, ceil(n/TN), gz) with gx*gz ≥
// ceil(rows/ROWS) (z splits row groups past the 65535 limit of one axis).
#include "common.glsl"
layout(constant_id = 1) const uint FORMAT = 0;
layout(constant_id = 2) const uint ROWS = 2;
layout(constant_id = 3) const uint TN = 1;

layout(std430, binding = 0) readonly buffer Wq { uint wq[]; };
layout(std430, binding = 1) readonly buffer Ws { uint ws[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) buffer Y { float y[]; };
layout(std430, binding = 4) readonly buffer Bias { float bias[]; };
// flags: bit 0 accumulate into y, bit 1 add bias.
layout(push_constant) uniform P { uint rows; uint cols; uint n; uint x_off; uint y_off; uint y_stride; uint flags; } p;

shared float red[ROWS * TN * LX];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint r0 = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * ROWS;
    uint j0 = gl_WorkGroupID.y * TN;
    uint bpr = (p.cols + 31u) / 32u;
    bool aligned = (p.cols & 3u) == 0u;
    float part[ROWS * TN];
    for (uint k = 0u; k < ROWS * TN; k++) part[k] = 0.0;
    for (uint rr = 0u; rr < ROWS; rr++) {
        uint r = r0 + rr;
        if (r >= p.rows) break;
        for (uint b = t; b < bpr; b += LX) {
            uint c0 = b * 32u;
            uint c1 = min(c0 + 32u, p.cols);
            float acc[TN];
            for (uint j = 0u; j < TN; j++) acc[j] = 0.0;
            if (FORMAT == 0u) {
                uint e0 = r * p.cols + c0;
                if (aligned && c1 - c0 == 32u) {
                    for (uint q = 0u; q < 8u; q++) {
                        uint w = wq[(e0 >> 2) + q];
                        for (uint k = 0u; k < 4u; k++) {
                            float wv = float(sbyte(w, k));
                            uint c = c0 + q * 4u + k;
                            for (uint j = 0u; j < TN; j++) {
                                if (j0 + j < p.n) acc[j] += wv * x[p.x_off + (j0 + j) * p.cols + c];
                            }
                        }
                    }
                } else {
                    for (uint c = c0; c < c1; c++) {
                        uint e = r * p.cols + c;
                        float wv = float(sbyte(wq[e >> 2], e & 3u));
                        for (uint j = 0u; j < TN; j++) {
                            if (j0 + j < p.n) acc[j] += wv * x[p.x_off + (j0 + j) * p.cols + c];
                        }
                    }
                }
                uint se = r * bpr + b;
                float s = half2f(ws[se >> 1], se);
                for (uint j = 0u; j < TN; j++) part[rr * TN + j] += acc[j] * s;
            } else {
                for (uint c = c0; c < c1; c++) {
                    float wv = uintBitsToFloat(wq[r * p.cols + c]);
                    for (uint j = 0u; j < TN; j++) {
                        if (j0 + j < p.n) acc[j] += wv * x[p.x_off + (j0 + j) * p.cols + c];
                    }
                }
                for (uint j = 0u; j < TN; j++) part[rr * TN + j] += acc[j];
            }
        }
    }
    for (uint k = 0u; k < ROWS * TN; k++) red[k * LX + t] = part[k];
    barrier();
    for (uint s = LX / 2u; s > 0u; s >>= 1) {
        if (t < s) {
            for (uint k = 0u; k < ROWS * TN; k++) red[k * LX + t] += red[k * LX + t + s];
        }
        barrier();
    }
    if (t < ROWS * TN) {
        uint rr = t / TN, j = t % TN;
        uint r = r0 + rr;
        if (r < p.rows && j0 + j < p.n) {
            float v = red[t * LX];
            if ((p.flags & 2u) != 0u) v += bias[r];
            uint o = p.y_off + (j0 + j) * p.y_stride + r;
            if ((p.flags & 1u) != 0u) v += y[o];
            y[o] = v;
        }
    }
}
