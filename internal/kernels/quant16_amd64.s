//go:build !noasm

#include "textflag.h"

// func quantizeAct16AVX512(q *int16, scales *float32, x *float32, blocks int)
//
// quantizeAct16 (q8q16.go) for blocks whole 32-value blocks, bit for bit:
// max|x| taken on the bits (non-negative floats order as their bit
// patterns), scale = max/32767 and its reciprocal as float32 divisions,
// r = x·(1/scale), q = trunc(r + 0.5·sign(r)); a block whose scale is 0,
// infinite or NaN gets q = 0 (its scale stored as computed).
TEXT ·quantizeAct16AVX512(SB), NOSPLIT, $0-32
	MOVQ q+0(FP), DI
	MOVQ scales+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ blocks+24(FP), CX
	TESTQ CX, CX
	JE   done
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z10 // |x| mask
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z11 // sign mask
	MOVL $0x3f000000, AX
	VPBROADCASTD AX, Z12 // 0.5
	MOVL $0x46fffe00, AX // 32767.0
	VMOVD AX, X13
	MOVL $0x3f800000, AX // 1.0
	VMOVD AX, X14
	VPXORD Z15, Z15, Z15

block:
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VPANDD  Z10, Z0, Z2
	VPANDD  Z10, Z1, Z3
	VPMAXUD Z3, Z2, Z2
	VEXTRACTI64X4 $1, Z2, Y3
	VPMAXUD Y3, Y2, Y2
	VEXTRACTI128 $1, Y2, X3
	VPMAXUD X3, X2, X2
	VPSHUFD $0x4e, X2, X3
	VPMAXUD X3, X2, X2
	VPSHUFD $0xb1, X2, X3
	VPMAXUD X3, X2, X2 // lane 0: max|x| bits
	VDIVSS  X13, X2, X4 // scale = max/32767
	VMOVSS  X4, (SI)
	VMOVD   X4, AX
	LEAL    -1(AX), BX
	CMPL    BX, $0x7f7fffff // scale bits - 1 ≥ MaxFloat32's: 0, Inf or NaN
	JAE     zero
	VDIVSS  X4, X14, X5 // 1/scale
	VBROADCASTSS X5, Z5
	VMULPS  Z5, Z0, Z0
	VMULPS  Z5, Z1, Z1
	VPANDD  Z11, Z0, Z6
	VPANDD  Z11, Z1, Z7
	VPORD   Z12, Z6, Z6
	VPORD   Z12, Z7, Z7
	VADDPS  Z6, Z0, Z0
	VADDPS  Z7, Z1, Z1
	VCVTTPS2DQ Z0, Z0
	VCVTTPS2DQ Z1, Z1
	VPMOVDW Z0, (DI)
	VPMOVDW Z1, 32(DI)
	JMP     next

zero:
	VMOVDQU16 Z15, (DI)

next:
	ADDQ $128, DX
	ADDQ $64, DI
	ADDQ $4, SI
	DECQ CX
	JNZ  block

done:
	VZEROUPPER
	RET
