#!/usr/bin/env python3
"""Generates internal/kernels/q8q16_arm64.s: the int16-activation × int8-weight
matrix-vector kernels (Pool.MatVecQ8Q16, decode's default int16 activations)
for every arm64 CPU (base ARMv8.0 Advanced SIMD, no extension).

Per 32-value block: the 32 weight bytes are widened to four registers of 8
int16 (SXTL, SXTL2; shared by all n vectors), and per vector SMULL then
seven SMLAL/SMLAL2 multiply them by the block's 32 int16 activations into
4 int32 lanes (each lane adds 8 products, at most 8·127·32767 < 2³¹:
exact). SCVTF converts the lanes, and FMLA by element adds them times the
block's combined scale, taken from a vector of 4 (the weight row's 4
float16 scales widened with FCVTL, times the vector's 4 activation
scales), into one of the vector's two accumulators (blocks alternating).
Every vector is summed in the same order whatever n, so a row's result is
bit for bit the same alone or batched. n = 1..4 vectors share one pass over
the weights (the batched step). The activations are read in order
(Q16Acts.Q).

Against the float32-activation NEON kernel (matVecQ8NEON: int8 → int16 →
int32 → float32 widening and an FMLA per 4 weights) this is about half the
instructions per weight.

Go's assembler has no mnemonics for SXTL, SMULL, SMLAL, SCVTF, FCVTL, FMLA
by element or FADDP: those are assembled with GNU as (as asmgen/neon.py
does) and emitted as WORDs with the mnemonic in a comment.

Needs aarch64-linux-gnu-as and -objdump (Debian: binutils-aarch64-linux-gnu).
Run from the repository root: python3 internal/kernels/asmgen/q8q16neon.py
"""
import os
import re
import subprocess
import tempfile

OUT = "internal/kernels/q8q16_arm64.s"


def enc(instrs):
    src = "\n".join(instrs) + "\n"
    with tempfile.TemporaryDirectory() as d:
        s, o = os.path.join(d, "t.s"), os.path.join(d, "t.o")
        open(s, "w").write(src)
        subprocess.check_call(["aarch64-linux-gnu-as", "-march=armv8-a", s, "-o", o])
        out = subprocess.check_output(["aarch64-linux-gnu-objdump", "-d", o]).decode()
    words = re.findall(r"^\s+[0-9a-f]+:\s+([0-9a-f]{8})\s", out, re.M)
    assert len(words) == len(instrs), out
    return words


def render(lines):
    gnu = [l[1:] for l in lines if l.startswith("@")]
    words = iter(enc(gnu))
    out = []
    for l in lines:
        if l.startswith("@"):
            out.append(f"\tWORD $0x{next(words)} // {l[1:]}")
        elif l.endswith(":"):
            out.append(l)
        else:
            out.append("\t" + l)
    return "\n".join(out) + "\n"


XP = ["R11", "R12", "R13", "R14"]  # vector v's activation cursor
SP = ["R15", "R16", "R17", "R19"]  # vector v's scale cursor


def kernel(n):
    # Registers: V0-V1 the block's weight bytes, V2-V5 widened, V6-V7
    # block sums, V8-V15 activations (alternating vectors), V16-V19 the
    # combined scales of 4 blocks, V20-V27 accumulators (vector v: V20+v
    # and V24+v), V30-V31 scale loads.
    name = f"q8q16x{n}NEON"
    L = []
    a = L.append
    a(f"TEXT ·{name}(SB), NOSPLIT, $0-72")
    a("MOVD q+0(FP), R0")
    a("MOVD scales+8(FP), R1")
    a("MOVD rows+16(FP), R2")
    a("MOVD groups+24(FP), R3")
    a("MOVD rowBytes+32(FP), R4")
    a("MOVD scaleStride+40(FP), R5")
    a("MOVD $0, R6")
    a(f"{name}_row:")
    a("CMP R2, R6")
    a(f"BGE {name}_done")
    a("MOVD x+48(FP), R7")
    for v in range(n):
        a(f"MOVD {8 * v}(R7), {XP[v]}")
    a("MOVD s+56(FP), R7")
    for v in range(n):
        a(f"MOVD {8 * v}(R7), {SP[v]}")
    a("MOVD R0, R8")
    a("MOVD R1, R9")
    a("LSL $2, R3, R10")  # 4-block steps
    for v in range(n):
        for r in (20 + v, 24 + v):
            a(f"VEOR V{r}.B16, V{r}.B16, V{r}.B16")
    a(f"{name}_step:")
    a("VLD1.P 8(R9), [V30.H4]")
    a("@fcvtl v30.4s, v30.4h")
    for v in range(n):
        a(f"VLD1.P 16({SP[v]}), [V31.S4]")
        a(f"@fmul v{16 + v}.4s, v30.4s, v31.4s")
    for j in range(4):
        a("VLD1.P 32(R8), [V0.B16, V1.B16]")
        a("@sxtl v2.8h, v0.8b")
        a("@sxtl2 v3.8h, v0.16b")
        a("@sxtl v4.8h, v1.8b")
        a("@sxtl2 v5.8h, v1.16b")
        for v in range(n):
            x = 8 + 4 * (v & 1)
            t = 6 + (v & 1)
            acc = (20 if j % 2 == 0 else 24) + v
            a(f"VLD1.P 64({XP[v]}), [V{x}.H8, V{x + 1}.H8, V{x + 2}.H8, V{x + 3}.H8]")
            a(f"@smull v{t}.4s, v2.4h, v{x}.4h")
            a(f"@smlal2 v{t}.4s, v2.8h, v{x}.8h")
            for k in range(1, 4):
                a(f"@smlal v{t}.4s, v{2 + k}.4h, v{x + k}.4h")
                a(f"@smlal2 v{t}.4s, v{2 + k}.8h, v{x + k}.8h")
            a(f"@scvtf v{t}.4s, v{t}.4s")
            a(f"@fmla v{acc}.4s, v{t}.4s, v{16 + v}.s[{j}]")
    a("SUBS $1, R10, R10")
    a(f"BNE {name}_step")
    a("MOVD y+64(FP), R7")
    for v in range(n):
        r = 20 + v
        a(f"@fadd v{r}.4s, v{r}.4s, v{24 + v}.4s")
        a(f"@faddp v{r}.4s, v{r}.4s, v{r}.4s")
        a(f"@faddp s{r}, v{r}.2s")
        a(f"MOVD {8 * v}(R7), R21")
        a("ADD R6<<2, R21, R21")
        a(f"FMOVS F{r}, (R21)")
    a("ADD R4, R0, R0")
    a("ADD R5, R1, R1")
    a("ADD $1, R6, R6")
    a(f"B {name}_row")
    a(f"{name}_done:")
    a("RET")
    return f"\n// func {name}(q *int8, scales *uint16, rows, groups, rowBytes, scaleStride int, x *[4]*int16, s *[4]*float32, y *[4]*float32)\n" + render(L)


HEAD = """// Code generated by internal/kernels/asmgen/q8q16neon.py; DO NOT EDIT.

//go:build !noasm

#include "textflag.h"

// int16 activations × int8 weights with SMULL/SMLAL (see
// asmgen/q8q16neon.py). Arguments as the amd64 kernels (q8q16_amd64.s):
// rows rows of the first groups·16 blocks; x[v] is vector v's int16
// values in order, s[v] its block scales, y[v] its outputs (stored).
"""


def main():
    s = HEAD
    for n in range(1, 5):
        s += kernel(n)
    with open(OUT, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
