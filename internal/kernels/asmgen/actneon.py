#!/usr/bin/env python3
"""Generates internal/kernels/act_arm64.s: the NEON activation and softmax
kernels, the arm64 twins of act_amd64.s (same algorithm, same constants,
same clamping, 4 lanes a step): the float32 exp is goExpf's (act.go) —
Cephes' expf, k = round(y·log2 e) by the 1.5·2²³ trick, a two-part ln 2
reduction, a degree-7 polynomial by fused multiply-adds, 2^k through the
exponent bits; below expLo it gives 0, above expHi +Inf.

func expSubSumNEON(x *float32, n int, m float32) float32   x[i] = exp(x[i]−m), returns Σ
func sigmoidMulNEON(x *float32, n int, a, b float32)       x[i] /= 1 + exp(−(a·x + b·x³))
func maxNEON(x *float32, n int) float32                    the largest (n > 0)
func scaleNEON(x *float32, n int, s float32)               x[i] *= s

n is a multiple of 8 (the Go callers' contract, as on amd64).

Go's assembler has no mnemonics for the vector float arithmetic, compares,
BIT or LD1R used here: those are assembled with GNU as (asmgen/gnuas.py).

Needs aarch64-linux-gnu-as and -objdump (Debian: binutils-aarch64-linux-gnu).
Run from the repository root: python3 internal/kernels/asmgen/actneon.py
"""
import struct

from gnuas import render

OUT = "internal/kernels/act_arm64.s"

# The constants, in the order they are broadcast into V16..V29.
CONSTS = [
    ("hi", 88.37626), ("lo", -86.9), ("log2e", 1.44269504088896341), ("magic", 12582912.0),
    ("ln2hi", 0.693359375), ("ln2lo", -2.12194440e-4),
    ("p0", 1.9875691500e-4), ("p1", 1.3981999507e-3), ("p2", 8.3334519073e-3),
    ("p3", 4.1665795894e-2), ("p4", 1.6666665459e-1), ("p5", 5.0000001201e-1),
    ("one", 1.0), ("inf", float("inf")),
]
C = {name: 16 + i for i, (name, _) in enumerate(CONSTS)}


def table():
    s = ""
    for i, (_, v) in enumerate(CONSTS):
        bits = struct.unpack("<I", struct.pack("<f", v))[0]
        s += f"DATA expn<>+{4 * i}(SB)/4, $0x{bits:08x}\n"
    return s + f"GLOBL expn<>(SB), RODATA|NOPTR, ${4 * len(CONSTS)}\n"


def load_consts(a):
    a("MOVD $expn<>(SB), R9")
    for name, _ in CONSTS:
        a(f"@ld1r {{v{C[name]}.4s}}, [x9], #4")


def exp(a, y=0):
    """v{y} = exp(v{y}); clobbers v1, v2, v3, v5, v6, v7 (not v4)."""
    a(f"@fcmge v5.4s, v{y}.4s, v{C['lo']}.4s")
    a(f"@fcmgt v6.4s, v{y}.4s, v{C['hi']}.4s")
    a(f"@fmin v{y}.4s, v{y}.4s, v{C['hi']}.4s")
    a(f"@fmax v{y}.4s, v{y}.4s, v{C['lo']}.4s")
    a(f"@mov v1.16b, v{C['magic']}.16b")
    a(f"@fmla v1.4s, v{y}.4s, v{C['log2e']}.4s")  # t = y·log2e + magic
    a(f"@fsub v2.4s, v1.4s, v{C['magic']}.4s")  # k
    a(f"@fmls v{y}.4s, v2.4s, v{C['ln2hi']}.4s")  # r = y − k·ln2hi
    a(f"@fmls v{y}.4s, v2.4s, v{C['ln2lo']}.4s")  # r −= k·ln2lo
    a(f"@mov v3.16b, v{C['p0']}.16b")
    for p in ("p1", "p2", "p3", "p4", "p5"):
        a(f"@mov v7.16b, v{C[p]}.16b")
        a(f"@fmla v7.4s, v3.4s, v{y}.4s")  # p = p·r + c
        a("@mov v3.16b, v7.16b")
    a(f"@fmul v2.4s, v{y}.4s, v{y}.4s")
    a(f"@mov v7.16b, v{y}.16b")
    a("@fmla v7.4s, v3.4s, v2.4s")  # p·r² + r
    a(f"@fadd v3.4s, v7.4s, v{C['one']}.4s")
    a("@shl v1.4s, v1.4s, #23")
    a(f"@add v{y}.4s, v3.4s, v1.4s")  # 2^k through the exponent bits
    a(f"@and v{y}.16b, v{y}.16b, v5.16b")  # below lo (and NaN): 0
    a(f"@bit v{y}.16b, v{C['inf']}.16b, v6.16b")  # above hi: +Inf


def fn(name, sig, frame, body):
    L = []
    a = L.append
    a(f"TEXT ·{name}(SB), NOSPLIT, $0-{frame}")
    body(a)
    a("RET")
    return f"\n// func {name}{sig}\n" + render(L)


def exp_sub_sum(a):
    a("MOVD x+0(FP), R0")
    a("MOVD n+8(FP), R1")
    a("FMOVS m+16(FP), F8")
    a("@dup v8.4s, v8.s[0]")
    a("VEOR V9.B16, V9.B16, V9.B16")
    a("VEOR V10.B16, V10.B16, V10.B16")
    a("MOVD R0, R2")
    a("CBZ R1, essum")
    load_consts(a)
    # 8 values a step in two accumulators: the sum's depth is n/8 + 3, as
    # on amd64 (TestSoftmax's bound).
    a("esloop:")
    a("VLD1.P 16(R2), [V0.S4]")
    a("VLD1.P 16(R2), [V4.S4]")
    a("@fsub v0.4s, v0.4s, v8.4s")
    a("@fsub v4.4s, v4.4s, v8.4s")
    exp(a, 0)
    exp(a, 4)
    a("VST1.P [V0.S4], 16(R0)")
    a("VST1.P [V4.S4], 16(R0)")
    a("@fadd v9.4s, v9.4s, v0.4s")
    a("@fadd v10.4s, v10.4s, v4.4s")
    a("SUBS $8, R1, R1")
    a("BNE esloop")
    a("essum:")
    a("@fadd v9.4s, v9.4s, v10.4s")
    a("@faddp v9.4s, v9.4s, v9.4s")
    a("@faddp s9, v9.2s")
    a("FMOVS F9, ret+24(FP)")


def sigmoid_mul(a):
    a("MOVD x+0(FP), R0")
    a("MOVD n+8(FP), R1")
    a("FMOVS a+16(FP), F10")
    a("FMOVS b+20(FP), F11")
    a("@dup v10.4s, v10.s[0]")
    a("@dup v11.4s, v11.s[0]")
    a("CBZ R1, smdone")
    load_consts(a)
    a("smloop:")
    a("VLD1 (R0), [V4.S4]")
    a("@fmul v0.4s, v4.4s, v4.4s")
    a("@mov v7.16b, v10.16b")
    a("@fmla v7.4s, v11.4s, v0.4s")  # b·x² + a
    a("@fmul v0.4s, v7.4s, v4.4s")
    a("@fneg v0.4s, v0.4s")
    exp(a)
    a(f"@fadd v0.4s, v0.4s, v{C['one']}.4s")
    a("@fdiv v4.4s, v4.4s, v0.4s")
    a("VST1.P [V4.S4], 16(R0)")
    a("SUBS $4, R1, R1")
    a("BNE smloop")
    a("smdone:")


def max_(a):
    a("MOVD x+0(FP), R0")
    a("MOVD n+8(FP), R1")
    a("VLD1.P 16(R0), [V0.S4]")
    a("SUBS $4, R1, R1")
    a("BEQ mxfold")
    a("mxloop:")
    a("VLD1.P 16(R0), [V1.S4]")
    a("@fmax v0.4s, v0.4s, v1.4s")
    a("SUBS $4, R1, R1")
    a("BNE mxloop")
    a("mxfold:")
    a("@fmaxv s0, v0.4s")
    a("FMOVS F0, ret+16(FP)")


def scale(a):
    a("MOVD x+0(FP), R0")
    a("MOVD n+8(FP), R1")
    a("FMOVS s+16(FP), F1")
    a("CBZ R1, scdone")
    a("scloop:")
    a("VLD1 (R0), [V0.S4]")
    a("@fmul v0.4s, v0.4s, v1.s[0]")
    a("VST1.P [V0.S4], 16(R0)")
    a("SUBS $4, R1, R1")
    a("BNE scloop")
    a("scdone:")


HEAD = """// Code generated by internal/kernels/asmgen/actneon.py; DO NOT EDIT.

//go:build !noasm

#include "textflag.h"

// NEON activations and softmax (see asmgen/actneon.py; the amd64 twins are
// in act_amd64.s). n is a multiple of 8.
"""


def main():
    s = HEAD + "\n" + table()
    s += fn("expSubSumNEON", "(x *float32, n int, m float32) float32", 28, exp_sub_sum)
    s += fn("sigmoidMulNEON", "(x *float32, n int, a, b float32)", 24, sigmoid_mul)
    s += fn("maxNEON", "(x *float32, n int) float32", 20, max_)
    s += fn("scaleNEON", "(x *float32, n int, s float32)", 20, scale)
    with open(OUT, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
