package metal

// Source is the Metal Shading Language source of vlmrt's kernels, compiled
// at run time by Device.NewLibrary (language version LanguageVersion).
//
// matvec_q8 is decode's int8 matrix-vector product over the project's one
// weight format (quant.Matrix, docs/design.md §3): row r of W is Cols int8
// values and BlocksPerRow IEEE half scales, block b covering columns
// [32b, min(32b+32, Cols)). Its arithmetic, which MatVecQ8Reference mirrors
// operation for operation:
//
//	for each row r (one 32-lane SIMD-group; MatVecQ8RowsPerGroup rows per threadgroup):
//	  lane l: part[l] = 0
//	          for b = l, l+32, l+64, … < BlocksPerRow:        (blocks in increasing order)
//	            acc = 0
//	            for i = 32b … min(32b+32, Cols)-1:              (inputs in increasing order)
//	              acc = fma(float(q[r,i]), x[i], acc)
//	            part[l] = fma(acc, float(scale[r,b]), part[l])
//	  for off = 16, 8, 4, 2, 1:  part[l] = part[l] + part[l xor off]   (simd_shuffle_xor butterfly)
//	  y[r] = part[0]
//
// Accumulation is float32 throughout; the half scale is widened exactly.
// The reduction is a written-out butterfly rather than simd_sum, whose
// order is unspecified, so that the host mirror can follow it exactly.
//
// Bindings (MatVecQ8Args builds them): buffer(0) q int8 [Rows*Cols],
// buffer(1) scales half [Rows*BlocksPerRow], buffer(2) x float [Cols],
// buffer(3) y float [Rows], buffer(4) the MatVecQ8Params bytes
// {uint rows, cols, blocks_per_row}. The kernel assumes a 32-wide SIMD-group
// (every Apple GPU; NewPipeline's caller checks ThreadExecutionWidth).
const Source = `#include <metal_stdlib>
using namespace metal;

// Must equal quant.BlockSize and metal.MatVecQ8RowsPerGroup on the Go side.
constant constexpr uint kBlock = 32;
constant constexpr uint kRowsPerGroup = 4;

struct MatVecQ8Params {
    uint rows;
    uint cols;
    uint blocks_per_row;
};

kernel void matvec_q8(
    device const char*        q      [[buffer(0)]],
    device const half*        scales [[buffer(1)]],
    device const float*       x      [[buffer(2)]],
    device float*             y      [[buffer(3)]],
    constant MatVecQ8Params&  p      [[buffer(4)]],
    uint group [[threadgroup_position_in_grid]],
    uint sg    [[simdgroup_index_in_threadgroup]],
    uint lane  [[thread_index_in_simdgroup]])
{
    const uint r = group * kRowsPerGroup + sg;
    // The whole SIMD-group leaves together, so the shuffles below always
    // run with all 32 lanes active.
    if (r >= p.rows) {
        return;
    }
    device const char* qr = q + ulong(r) * p.cols;
    device const half* sr = scales + ulong(r) * p.blocks_per_row;

    float part = 0.0f;
    for (uint b = lane; b < p.blocks_per_row; b += 32) {
        const uint lo = b * kBlock;
        const uint hi = min(lo + kBlock, p.cols);
        float acc = 0.0f;
        for (uint i = lo; i < hi; ++i) {
            acc = fma(float(qr[i]), x[i], acc);
        }
        part = fma(acc, float(sr[b]), part);
    }
    part += simd_shuffle_xor(part, ushort(16));
    part += simd_shuffle_xor(part, ushort(8));
    part += simd_shuffle_xor(part, ushort(4));
    part += simd_shuffle_xor(part, ushort(2));
    part += simd_shuffle_xor(part, ushort(1));
    if (lane == 0) {
        y[r] = part;
    }
}
`

// Kernel function names in Source.
const (
	KernelMatVecQ8 = "matvec_q8"
)

// Kernels lists every kernel function Source defines.
var Kernels = []string{KernelMatVecQ8}

// LanguageVersion is the Metal Shading Language version NewLibrary
// compiles as: MTLLanguageVersion3_0 ((3 << 16) | 0; macOS 13, iOS 16).
// It is set explicitly because Metal derives the default from the SDK the
// binary was linked against, which a cgo-free Go binary does not record,
// and then compiles as MSL 2.4.
const LanguageVersion = 3<<16 | 0

// SIMDWidth is the SIMD-group width the kernels are written for.
const SIMDWidth = 32

// MatVecQ8RowsPerGroup is how many rows (SIMD-groups) one matvec_q8
// threadgroup computes; it must equal kRowsPerGroup in Source.
const MatVecQ8RowsPerGroup = 4

// matvec_q8's argument table indices.
const (
	MatVecQ8ArgQ = iota
	MatVecQ8ArgScales
	MatVecQ8ArgX
	MatVecQ8ArgY
	MatVecQ8ArgParams
)
