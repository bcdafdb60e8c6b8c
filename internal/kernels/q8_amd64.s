//go:build !noasm

#include "textflag.h"

// Software prefetch distance for the weight stream, in bytes. The hardware
// prefetcher alone leaves decode at ~0.6 of the read bandwidth; prefetching
// 2 KiB ahead brings one core to ~0.8, and with two cores streaming (loaded
// latency is higher) 4–8 KiB ahead measured best.
#define PF1 8192

// Int8 kernels for AVX2+FMA+F16C. Weights are int8 with one float16 scale
// per 32-column block (package quant); activations stay float32.

// func matVecQ8AVX2(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int)
//
// For each of rows rows: y[r] = Σ_b scale[b] · Σ_{c in block b} q[c]·x[c]
// over the first blocks full blocks. q advances rowBytes per row, scales
// scaleStride bytes per row. Two blocks per iteration into two accumulators
// keep the loop-carried FMA chain from limiting throughput.
TEXT ·matVecQ8AVX2(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ scales+16(FP), DX
	MOVQ x+24(FP), R8
	MOVQ rows+32(FP), R9
	MOVQ blocks+40(FP), R11
	MOVQ rowBytes+48(FP), R10
	MOVQ scaleStride+56(FP), R12

mvrow:
	TESTQ R9, R9
	JE    mvdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   SI, AX
	MOVQ   R8, BX
	MOVQ   DX, CX
	MOVQ   R11, R13

mvpair:
	CMPQ R13, $2
	JB   mvsingle
	PREFETCHT0 PF1(AX)
	VPMOVSXBD 0(AX), Y2
	VPMOVSXBD 8(AX), Y3
	VPMOVSXBD 16(AX), Y4
	VPMOVSXBD 24(AX), Y5
	VPMOVSXBD 32(AX), Y7
	VPMOVSXBD 40(AX), Y8
	VPMOVSXBD 48(AX), Y9
	VPMOVSXBD 56(AX), Y10
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y7, Y7
	VCVTDQ2PS Y8, Y8
	VCVTDQ2PS Y9, Y9
	VCVTDQ2PS Y10, Y10
	VMULPS      0(BX), Y2, Y2
	VMULPS      128(BX), Y7, Y7
	VFMADD231PS 32(BX), Y3, Y2
	VFMADD231PS 160(BX), Y8, Y7
	VFMADD231PS 64(BX), Y4, Y2
	VFMADD231PS 192(BX), Y9, Y7
	VFMADD231PS 96(BX), Y5, Y2
	VFMADD231PS 224(BX), Y10, Y7
	VPBROADCASTW 0(CX), X6
	VPBROADCASTW 2(CX), X11
	VCVTPH2PS    X6, Y6
	VCVTPH2PS    X11, Y11
	VFMADD231PS  Y6, Y2, Y0
	VFMADD231PS  Y11, Y7, Y1
	ADDQ $64, AX
	ADDQ $256, BX
	ADDQ $4, CX
	SUBQ $2, R13
	JMP  mvpair

mvsingle:
	TESTQ R13, R13
	JE    mvreduce
	VPMOVSXBD 0(AX), Y2
	VPMOVSXBD 8(AX), Y3
	VPMOVSXBD 16(AX), Y4
	VPMOVSXBD 24(AX), Y5
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VMULPS      0(BX), Y2, Y2
	VFMADD231PS 32(BX), Y3, Y2
	VFMADD231PS 64(BX), Y4, Y2
	VFMADD231PS 96(BX), Y5, Y2
	VPBROADCASTW 0(CX), X6
	VCVTPH2PS    X6, Y6
	VFMADD231PS  Y6, Y2, Y0

mvreduce:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, 0(DI)
	ADDQ $4, DI
	ADDQ R10, SI
	ADDQ R12, DX
	DECQ R9
	JMP  mvrow

mvdone:
	VZEROUPPER
	RET

// func dequantQ8AVX2(dst *float32, q *int8, scales *uint16, blocks int)
//
// Widens blocks full 32-value blocks of one row to float32: dst = q·scale.
TEXT ·dequantQ8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ scales+16(FP), DX
	MOVQ blocks+24(FP), CX

dqloop:
	TESTQ CX, CX
	JE    dqdone
	VPBROADCASTW 0(DX), X6
	VCVTPH2PS    X6, Y6
	VPMOVSXBD 0(SI), Y0
	VPMOVSXBD 8(SI), Y1
	VPMOVSXBD 16(SI), Y2
	VPMOVSXBD 24(SI), Y3
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VMULPS    Y6, Y0, Y0
	VMULPS    Y6, Y1, Y1
	VMULPS    Y6, Y2, Y2
	VMULPS    Y6, Y3, Y3
	VMOVUPS   Y0, 0(DI)
	VMOVUPS   Y1, 32(DI)
	VMOVUPS   Y2, 64(DI)
	VMOVUPS   Y3, 96(DI)
	ADDQ $32, SI
	ADDQ $2, DX
	ADDQ $128, DI
	DECQ CX
	JMP  dqloop

dqdone:
	VZEROUPPER
	RET
// func matVecQ8AVX512(y *float32, q *int8, scales *uint16, x *float32, rows, blocks, rowBytes, scaleStride int)
//
// matVecQ8AVX2 on 512-bit registers: one 32-value block is two 16-lane
// halves, so a block takes half the instructions. On cores with two 512-bit
// FMA pipes (Zen 4/5, Ice Lake and later) decode is then bound by memory,
// not by the int8 → float32 widening. Numerics are the same: int8 weights,
// float32 activations, the block scale applied to each block's partial sum.
TEXT ·matVecQ8AVX512Old(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ scales+16(FP), DX
	MOVQ x+24(FP), R8
	MOVQ rows+32(FP), R9
	MOVQ blocks+40(FP), R11
	MOVQ rowBytes+48(FP), R10
	MOVQ scaleStride+56(FP), R12

zorow:
	TESTQ R9, R9
	JE zodone
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	MOVQ   SI, AX
	MOVQ   R8, BX
	MOVQ   DX, CX
	MOVQ   R11, R13

zopair:
	CMPQ R13, $2
	JB zosingle
	PREFETCHT0 PF1(AX)
	VPMOVSXBD 0(AX), Z2
	VPMOVSXBD 16(AX), Z3
	VPMOVSXBD 32(AX), Z4
	VPMOVSXBD 48(AX), Z5
	VCVTDQ2PS Z2, Z2
	VCVTDQ2PS Z3, Z3
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VMULPS      0(BX), Z2, Z2
	VMULPS      128(BX), Z4, Z4
	VFMADD231PS 64(BX), Z3, Z2
	VFMADD231PS 192(BX), Z5, Z4
	VPBROADCASTW 0(CX), Y6
	VPBROADCASTW 2(CX), Y7
	VCVTPH2PS    Y6, Z6
	VCVTPH2PS    Y7, Z7
	VFMADD231PS  Z6, Z2, Z0
	VFMADD231PS  Z7, Z4, Z1
	ADDQ $64, AX
	ADDQ $256, BX
	ADDQ $4, CX
	SUBQ $2, R13
	JMP zopair

zosingle:
	TESTQ R13, R13
	JE zoreduce
	VPMOVSXBD 0(AX), Z2
	VPMOVSXBD 16(AX), Z3
	VCVTDQ2PS Z2, Z2
	VCVTDQ2PS Z3, Z3
	VMULPS      0(BX), Z2, Z2
	VFMADD231PS 64(BX), Z3, Z2
	VPBROADCASTW 0(CX), Y6
	VCVTPH2PS    Y6, Z6
	VFMADD231PS  Z6, Z2, Z0

zoreduce:
	VADDPS        Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVHLPS      X0, X0, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	VMOVSS        X0, 0(DI)
	ADDQ $4, DI
	ADDQ R10, SI
	ADDQ R12, DX
	DECQ R9
	JMP zorow

zodone:
	VZEROUPPER
	RET
