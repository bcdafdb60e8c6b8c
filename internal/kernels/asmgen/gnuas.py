"""Shared by the arm64 generators (neon.py, q8q8neon.py, q8q16neon.py).

Go's arm64 assembler has no mnemonics for most NEON arithmetic, so the
generators write those instructions in GNU syntax on lines starting with
@; each is assembled with GNU as and emitted as a WORD with its mnemonic in
a comment, while loads, stores and branches stay in Go syntax.

Needs aarch64-linux-gnu-as and -objdump (Debian: binutils-aarch64-linux-gnu).
"""
import os
import re
import subprocess
import tempfile


def enc(instrs, march="armv8-a"):
    """Assembles GNU-syntax instructions; returns their words in hex."""
    src = "\n".join(instrs) + "\n"
    with tempfile.TemporaryDirectory() as d:
        s, o = os.path.join(d, "t.s"), os.path.join(d, "t.o")
        open(s, "w").write(src)
        subprocess.check_call(["aarch64-linux-gnu-as", f"-march={march}", s, "-o", o])
        out = subprocess.check_output(["aarch64-linux-gnu-objdump", "-d", o]).decode()
    words = re.findall(r"^\s+[0-9a-f]+:\s+([0-9a-f]{8})\s", out, re.M)
    assert len(words) == len(instrs), out
    return words


def render(lines, march="armv8-a"):
    """Go assembly from lines: "@gnu" lines become WORDs, "label:" lines
    stay, every other line is Go syntax, indented."""
    gnu = [l[1:] for l in lines if l.startswith("@")]
    words = iter(enc(gnu, march))
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


def prologue(a, name):
    """The quantized-activation kernels' entry: q, scales, rows, groups,
    rowBytes, scaleStride in R0..R5, the row counter R6 zeroed."""
    a(f"TEXT ·{name}(SB), NOSPLIT, $0-72")
    a("MOVD q+0(FP), R0")
    a("MOVD scales+8(FP), R1")
    a("MOVD rows+16(FP), R2")
    a("MOVD groups+24(FP), R3")
    a("MOVD rowBytes+32(FP), R4")
    a("MOVD scaleStride+40(FP), R5")
    a("MOVD $0, R6")


def row_head(a, name, nx):
    """The top of a kernel's row loop: done once R6 reaches rows, else the
    first nx activation cursors (XP) loaded from x."""
    a(f"{name}_row:")
    a("CMP R2, R6")
    a(f"BGE {name}_done")
    a("MOVD x+48(FP), R7")
    for v in range(nx):
        a(f"MOVD {8 * v}(R7), {XP[v]}")


def row_kernel(name, n, accs, step, march="armv8-a"):
    """A quantized-activation matrix-vector kernel for n vectors sharing one
    pass over the rows, with the amd64 kernels' arguments (q, scales, rows,
    groups, rowBytes, scaleStride, x, s, y): per row, the cursors reset
    (weights R8, weight scales R9, XP/SP per vector), accs[v] (vector v's
    accumulator registers) zeroed, step(a) emitted once per 4 blocks, then
    each vector's accumulators added, folded and stored to y[v][row]."""
    L = []
    a = L.append
    prologue(a, name)
    row_head(a, name, n)
    a("MOVD s+56(FP), R7")
    for v in range(n):
        a(f"MOVD {8 * v}(R7), {SP[v]}")
    a("MOVD R0, R8")
    a("MOVD R1, R9")
    a("LSL $2, R3, R10")  # 4-block steps
    for regs in accs:
        for r in regs:
            a(f"VEOR V{r}.B16, V{r}.B16, V{r}.B16")
    a(f"{name}_step:")
    step(a)
    a("SUBS $1, R10, R10")
    a(f"BNE {name}_step")
    for regs in accs:
        for r in regs[1:]:
            a(f"@fadd v{regs[0]}.4s, v{regs[0]}.4s, v{r}.4s")
    a("MOVD y+64(FP), R7")
    for v, regs in enumerate(accs):
        r = regs[0]
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
    return render(L, march)
