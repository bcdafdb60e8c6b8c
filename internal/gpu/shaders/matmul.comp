#version 450
// matmul: y[j][r] (+)= sum_c W[r][c] * x[j][c] (+ bias[r]) for tokens j of
// x [n][cols] and rows r of W [rows][cols]. W is int8 with one float16 scale
// per block of 32 columns (FORMAT 0, the quant.Matrix layout) or float32
// (FORMAT 1). A workgroup of LX threads computes LX/LANES rows, LANES
// threads per row splitting the row's 32-column blocks, for TN tokens at
// once, so each weight block is read once per TN tokens: TN=1 is decode's
// matrix-vector product, larger TN the prefill GEMM. The lanes' partial
// sums meet in shared memory. LANES is chosen from the row length so that
// short rows do not leave threads idle; LANES=1 (one thread per row, no
// shared memory and no barriers) is for CPU drivers, where barriers are
// costly and memory coalescing does not matter. Workgroups: (gx, ceil(n/TN)); each
// of the gx takes row groups gx apart (a grid-stride loop, so a device
// whose workgroups are costly, like a CPU driver, can be given few).
#include "common.glsl"
layout(constant_id = 1) const uint FORMAT = 0;
layout(constant_id = 2) const uint LANES = 32; // a power of two ≤ LX
layout(constant_id = 3) const uint TN = 1;
const uint ROWS = LX / LANES;

layout(std430, binding = 0) readonly buffer Wq { uint wq[]; };
layout(std430, binding = 1) readonly buffer Ws { uint ws[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) buffer Y { float y[]; };
layout(std430, binding = 4) readonly buffer Bias { float bias[]; };
// flags: bit 0 accumulate into y, bit 1 add bias.
layout(push_constant) uniform P { uint rows; uint cols; uint n; uint x_off; uint y_off; uint y_stride; uint flags; } p;

shared float red[TN * LX];

void store(uint r, uint j, float v) {
    if ((p.flags & 2u) != 0u) v += bias[r];
    uint o = p.y_off + j * p.y_stride + r;
    if ((p.flags & 1u) != 0u) v += y[o];
    y[o] = v;
}

void main() {
    uint t = gl_LocalInvocationID.x;
    uint lane = t % LANES;
    uint groups = (p.rows + ROWS - 1u) / ROWS;
    for (uint g = gl_WorkGroupID.x; g < groups; g += gl_NumWorkGroups.x) {
    uint r = g * ROWS + t / LANES;
    uint j0 = gl_WorkGroupID.y * TN;
    uint tn = min(TN, p.n - j0);
    uint bpr = (p.cols + 31u) / 32u;
    bool aligned = (p.cols & 3u) == 0u;
    float part[TN];
    for (uint j = 0u; j < TN; j++) part[j] = 0.0;
    if (r < p.rows) {
        for (uint b = lane; b < bpr; b += LANES) {
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
                            uint c = p.x_off + j0 * p.cols + c0 + q * 4u + k;
                            for (uint j = 0u; j < tn; j++) acc[j] += wv * x[c + j * p.cols];
                        }
                    }
                } else {
                    for (uint c = c0; c < c1; c++) {
                        uint e = r * p.cols + c;
                        float wv = float(sbyte(wq[e >> 2], e & 3u));
                        for (uint j = 0u; j < tn; j++) acc[j] += wv * x[p.x_off + (j0 + j) * p.cols + c];
                    }
                }
                uint se = r * bpr + b;
                float s = half2f(ws[se >> 1], se);
                for (uint j = 0u; j < TN; j++) part[j] += acc[j] * s;
            } else {
                for (uint c = c0; c < c1; c++) {
                    float wv = uintBitsToFloat(wq[r * p.cols + c]);
                    for (uint j = 0u; j < tn; j++) acc[j] += wv * x[p.x_off + (j0 + j) * p.cols + c];
                }
                for (uint j = 0u; j < TN; j++) part[j] += acc[j];
            }
        }
    }
    if (LANES == 1u) {
        // One thread per row (CPU drivers): no partial sums to combine.
        if (r < p.rows) {
            for (uint j = 0u; j < tn; j++) store(r, j0 + j, part[j]);
        }
        continue;
    }
    for (uint j = 0u; j < TN; j++) red[j * LX + t] = part[j];
    barrier();
    for (uint s = LANES / 2u; s > 0u; s >>= 1) {
        if (lane < s) {
            for (uint j = 0u; j < TN; j++) red[j * LX + t] += red[j * LX + t + s];
        }
        barrier();
    }
    if (lane < tn && r < p.rows) store(r, j0 + lane, red[lane * LX + t - lane]);
    barrier(); // red is reused by the next row group
    }
}
