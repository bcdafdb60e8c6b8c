//go:build !noasm

#include "textflag.h"

// func dot4x3AVX2(out *float32, x0, x1, x2, x3, w0, w1, w2 *float32, k int)
//
// The matrix-product micro-kernel: the 12 dot products of four activation
// rows with three weight rows over k floats (k a multiple of 8), written as
// out[j*4+i] = Σ xi·wj. Both operands are read along their contiguous rows,
// so neither needs packing or transposing: 7 loads feed 12 FMAs per step,
// which keeps the FMA units the bottleneck, and the 12 accumulators (4
// cycles latency × 2 ports needs ≥ 8) hide the FMA latency.
TEXT ·dot4x3AVX2(SB), NOSPLIT, $0-72
	MOVQ out+0(FP), DI
	MOVQ x0+8(FP), R8
	MOVQ x1+16(FP), R9
	MOVQ x2+24(FP), R10
	MOVQ x3+32(FP), R11
	MOVQ w0+40(FP), R12
	MOVQ w1+48(FP), R13
	MOVQ w2+56(FP), R14
	MOVQ k+64(FP), BX
	SHLQ $2, BX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	CMPQ AX, BX
	JAE  d43reduce

d43loop:
	VMOVUPS     (R12)(AX*1), Y12
	VMOVUPS     (R13)(AX*1), Y13
	VMOVUPS     (R14)(AX*1), Y14
	VMOVUPS     (R8)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS     (R9)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS     (R10)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS     (R11)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ        $32, AX
	CMPQ        AX, BX
	JB          d43loop

d43reduce:
	// Weight row j's four sums sit in Y(j), Y(3+j), Y(6+j), Y(9+j); three
	// horizontal adds and one lane fold turn them into one [4]float32.
	VHADDPS      Y3, Y0, Y0
	VHADDPS      Y9, Y6, Y6
	VHADDPS      Y6, Y0, Y0
	VEXTRACTF128 $1, Y0, X12
	VADDPS       X12, X0, X0
	VMOVUPS      X0, 0(DI)
	VHADDPS      Y4, Y1, Y1
	VHADDPS      Y10, Y7, Y7
	VHADDPS      Y7, Y1, Y1
	VEXTRACTF128 $1, Y1, X12
	VADDPS       X12, X1, X1
	VMOVUPS      X1, 16(DI)
	VHADDPS      Y5, Y2, Y2
	VHADDPS      Y11, Y8, Y8
	VHADDPS      Y8, Y2, Y2
	VEXTRACTF128 $1, Y2, X12
	VADDPS       X12, X2, X2
	VMOVUPS      X2, 32(DI)
	VZEROUPPER
	RET

// func dotAVX2(a, b *float32, n int) float32
//
// Σ a[i]·b[i] over n floats, n a multiple of 8; four accumulators.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ CX, $32
	JB   dot8
	VMOVUPS     0(SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot32

dot8:
	CMPQ CX, $8
	JB   dotsum
	VMOVUPS     0(SI), Y4
	VFMADD231PS 0(DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot8

dotsum:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(y *float32, a float32, x *float32, n int)
//
// y[i] += a·x[i] over n floats, n a multiple of 8.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	VBROADCASTSS a+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ CX, $32
	JB   axpy8
	VMOVUPS     0(DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS 0(SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, 0(DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  axpy32

axpy8:
	CMPQ CX, $8
	JB   axpydone
	VMOVUPS     0(DI), Y1
	VFMADD231PS 0(SI), Y0, Y1
	VMOVUPS     Y1, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  axpy8

axpydone:
	VZEROUPPER
	RET
