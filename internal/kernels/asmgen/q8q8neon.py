#!/usr/bin/env python3
"""Generates internal/kernels/q8q8_arm64.s: the int8-activation × int8-weight
kernels (Pool.MatVecQ8Q8, the act-int8 opt-in) for arm64 CPUs with the
dot-product extension (FEAT_DotProd: Apple M1 and later, Neoverse, Cortex-A76
and later).

SDOT multiplies signed bytes by signed bytes, adding each group of 4
products into one of 4 int32 lanes: two SDOTs give a 32-value block's
exact sum in 4 lanes, converted to float32 (SCVTF) and added into a float
accumulator times the block's combined scale, taken by element from a
vector of 4 (FMLA by element: the weight row's 4 float16 scales widened
with FCVTL, times the vector's 4 activation scales). n = 1..4 vectors
share one pass over the weights (the batched step); one vector alternates
two accumulators. The activations are read as quantized (Q8Acts.Q), no
auxiliary form.

With the int8 matrix-multiply extension (FEAT_I8MM: Apple M2 and later,
Neoverse V1/N2 and later), the batched step (n = 2..4) runs q8q8x{n}SMMLA
instead: SMMLA multiplies a 2×8 int8 matrix by an 8×2 one into a 2×2
int32 tile, so two weight rows (interleaved 8 bytes at a time by ZIP1/ZIP2)
meet a pair of vectors (interleaved once per quantization: the formPairs
activation form, with the pair's block scales) and 4 SMMLAs give the exact
sums of one block for 2 rows × 2 vectors [r0·v0, r0·v1, r1·v0, r1·v1];
one conversion, one multiply by the 4 combined scales and one FMLA add them
to the pair's accumulator: per block and 4 vectors about 14 instructions a
row where the SDOT kernel spends 25. Rows run in pairs (the caller gives
an even count and takes an odd last row to the SDOT kernel).

Go's assembler has no mnemonics for SDOT, SCVTF, FCVTL, FMLA by element
or FADDP: those are assembled with GNU as (asmgen/gnuas.py, which also
holds the row loop this kernel shares with q8q16neon.py) and emitted as
WORDs with the mnemonic in a comment.

Needs aarch64-linux-gnu-as and -objdump (Debian: binutils-aarch64-linux-gnu).
Run from the repository root: python3 internal/kernels/asmgen/q8q8neon.py
"""
from gnuas import SP, XP, prologue, render, row_head, row_kernel

OUT = "internal/kernels/q8q8_arm64.s"


def kernel(n):
    name = f"q8q8x{n}SDOT"
    accs = [[20, 24]] if n == 1 else [[20 + v] for v in range(n)]

    def step(a):
        a("VLD1.P 8(R9), [V30.H4]")
        a("@fcvtl v30.4s, v30.4h")
        for v in range(n):
            a(f"VLD1.P 16({SP[v]}), [V31.S4]")
            a(f"@fmul v{16 + v}.4s, v30.4s, v31.4s")
        for j in range(4):
            a("VLD1.P 32(R8), [V0.B16, V1.B16]")
            for v in range(n):
                x0, x1, t = 8 + 2 * v, 9 + 2 * v, 4 + v
                acc = accs[0][j & 1] if n == 1 else accs[v][0]
                a(f"VLD1.P 32({XP[v]}), [V{x0}.B16, V{x1}.B16]")
                a(f"VEOR V{t}.B16, V{t}.B16, V{t}.B16")
                a(f"@sdot v{t}.4s, v0.16b, v{x0}.16b")
                a(f"@sdot v{t}.4s, v1.16b, v{x1}.16b")
                a(f"@scvtf v{t}.4s, v{t}.4s")
                a(f"@fmla v{acc}.4s, v{t}.4s, v{16 + v}.s[{j}]")

    return f"\n// func {name}(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int8, s *[4]*float32, y *[4]*float32)\n" + row_kernel(name, n, accs, step, "armv8.2-a+dotprod")


def kernel_smmla(n):
    """q8q8x{n}SMMLA: rows in pairs, vectors in pairs (pairs = ceil(n/2);
    an odd n's last pair holds a zero vector whose lanes are not stored).
    Arguments as the SDOT kernels, but x[p] points at pair p's formPairs
    activations (per block: 4 × 16 bytes, 8 bytes of each vector in turn,
    then the 4 float32 scales [s0, s1, s0, s1]) and s is unused."""
    name = f"q8q8x{n}SMMLA"
    P = (n + 1) // 2
    L = []
    a = L.append
    prologue(a, name)
    row_head(a, name, P)  # XP[p]: pair p's activations
    a("MOVD R0, R8")  # row 0's weights
    a("ADD R4, R0, R22")  # row 1's weights
    a("MOVD R1, R9")  # row 0's scales
    a("ADD R5, R1, R23")  # row 1's scales
    a("LSL $2, R3, R10")  # 4-block steps
    for p in range(P):
        a(f"VEOR V{20 + p}.B16, V{20 + p}.B16, V{20 + p}.B16")
    a(f"{name}_step:")
    # The rows' 4 block scales, spread for the tiles' lanes: block j's
    # [w0, w0, w1, w1] from V28/V29 (row 0: [a0 a0 a1 a1], [a2 a2 a3 a3])
    # and V26/V27 (row 1).
    a("VLD1.P 8(R9), [V30.H4]")
    a("VLD1.P 8(R23), [V31.H4]")
    a("@fcvtl v30.4s, v30.4h")
    a("@fcvtl v31.4s, v31.4h")
    a("@zip1 v28.4s, v30.4s, v30.4s")
    a("@zip2 v29.4s, v30.4s, v30.4s")
    a("@zip1 v26.4s, v31.4s, v31.4s")
    a("@zip2 v27.4s, v31.4s, v31.4s")
    for j in range(4):
        lo, hi = (28, 26) if j < 2 else (29, 27)
        a(f"@zip{1 + j % 2} v25.2d, v{lo}.2d, v{hi}.2d")
        a("VLD1.P 32(R8), [V0.B16, V1.B16]")
        a("VLD1.P 32(R22), [V2.B16, V3.B16]")
        a("@zip1 v4.2d, v0.2d, v2.2d")
        a("@zip2 v5.2d, v0.2d, v2.2d")
        a("@zip1 v6.2d, v1.2d, v3.2d")
        a("@zip2 v7.2d, v1.2d, v3.2d")
        for p in range(P):
            x = 8 + 5 * p  # V8..V12 (pair 0), V13..V17 (pair 1)
            t = 18 + p
            a(f"VLD1.P 64({XP[p]}), [V{x}.B16, V{x + 1}.B16, V{x + 2}.B16, V{x + 3}.B16]")
            a(f"VLD1.P 16({XP[p]}), [V{x + 4}.S4]")
            a(f"VEOR V{t}.B16, V{t}.B16, V{t}.B16")
            for c in range(4):
                a(f"@smmla v{t}.4s, v{4 + c}.16b, v{x + c}.16b")
            a(f"@scvtf v{t}.4s, v{t}.4s")
            a(f"@fmul v{x + 4}.4s, v{x + 4}.4s, v25.4s")
            a(f"@fmla v{20 + p}.4s, v{t}.4s, v{x + 4}.4s")
    a("SUBS $1, R10, R10")
    a(f"BNE {name}_step")
    # Lanes [r0·v0, r0·v1, r1·v0, r1·v1] of pair p: vectors 2p, 2p+1.
    a("MOVD y+64(FP), R7")
    for p in range(P):
        acc = 20 + p
        for v in (2 * p, 2 * p + 1):
            if v >= n:
                continue
            a(f"MOVD {8 * v}(R7), R21")
            a("ADD R6<<2, R21, R21")
            for r in range(2):
                a(f"@mov w24, v{acc}.s[{2 * r + (v - 2 * p)}]")
                a(f"MOVW R24, {4 * r}(R21)")
    a("ADD R4<<1, R0, R0")
    a("ADD R5<<1, R1, R1")
    a("ADD $2, R6, R6")
    a(f"B {name}_row")
    a(f"{name}_done:")
    a("RET")
    return f"\n// func {name}(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*uint8, s *[4]*float32, y *[4]*float32)\n" + render(L, "armv8.6-a+i8mm")


HEAD = """// Code generated by internal/kernels/asmgen/q8q8neon.py; DO NOT EDIT.

//go:build !noasm

#include "textflag.h"

// int8 activations × int8 weights with SDOT (see asmgen/q8q8neon.py).
// Arguments as the amd64 kernels (q8q8_amd64.s): rows rows of the first
// groups·16 blocks; x[v] is vector v's int8 values, s[v] its block scales,
// y[v] its outputs (stored).
"""


def main():
    s = HEAD
    for n in range(1, 5):
        s += kernel(n)
    for n in range(2, 5):
        s += kernel_smmla(n)
    with open(OUT, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
