"""VEX-encoded AVX-VNNI instructions as BYTE directives.

Go's assembler encodes VPDPBUSD and VPDPWSSD only in their EVEX (AVX-512
VNNI) forms; CPUs with AVX-VNNI but no AVX-512 (and the avxvnni path on
any CPU that has it) need the VEX form, VEX.256.66.0F38.W0 50 /r
(VPDPBUSD) and 52 /r (VPDPWSSD), so the generators emit its bytes.
"""

OPS = {"VPDPBUSD": 0x50, "VPDPWSSD": 0x52}
REGS = {"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
        "R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15}


def vex_vnni(op, dst, src1, src2=None, base=None, disp=0):
    """dst += op(src1, src2 or [base + disp]) on ymm registers dst, src1,
    src2 (numbers); base a general register name (not SP/R12, which need a
    SIB byte). The line is commented with the instruction it encodes."""
    reg, v = dst, src1
    if base is None:
        rm, mod, tail = src2, 0b11, []
        text = f"{op} Y{src2}, Y{src1}, Y{dst}"
    else:
        b = REGS[base]
        assert b & 7 != 4, "SP/R12 base needs a SIB byte"
        rm, mod = b, 0b10
        tail = list((disp & 0xFFFFFFFF).to_bytes(4, "little"))
        text = f"{op} {disp}({base}), Y{src1}, Y{dst}"
    b1 = ((~reg >> 3) & 1) << 7 | 1 << 6 | ((~rm >> 3) & 1) << 5 | 0b00010
    b2 = (~v & 0xF) << 3 | 1 << 2 | 0b01
    modrm = mod << 6 | (reg & 7) << 3 | (rm & 7)
    bs = [0xC4, b1, b2, OPS[op], modrm] + tail
    return "\t" + "; ".join(f"BYTE ${x:#04x}" for x in bs) + f" // {text}"
