//go:build !noasm

#include "textflag.h"

// Elementwise kernels built on an 8-lane float32 exp (Cephes expf: round
// y·log2(e) to k, reduce r = y − k·ln2 in two steps, degree-7 polynomial,
// scale by 2^k through the exponent bits). Accurate to ~2 ulp; inputs are
// clamped to at most 88.376 so 2^k stays a normal number, and inputs below
// −86.9 give 0 (the exact values there are below 2⁻¹²⁵ ≈ 2.4e-38).

DATA expc<>+0(SB)/4, $0x42b0c0a5
DATA expc<>+4(SB)/4, $0x42b0c0a5
DATA expc<>+8(SB)/4, $0x42b0c0a5
DATA expc<>+12(SB)/4, $0x42b0c0a5
DATA expc<>+16(SB)/4, $0x42b0c0a5
DATA expc<>+20(SB)/4, $0x42b0c0a5
DATA expc<>+24(SB)/4, $0x42b0c0a5
DATA expc<>+28(SB)/4, $0x42b0c0a5
DATA expc<>+32(SB)/4, $0xc2adcccd
DATA expc<>+36(SB)/4, $0xc2adcccd
DATA expc<>+40(SB)/4, $0xc2adcccd
DATA expc<>+44(SB)/4, $0xc2adcccd
DATA expc<>+48(SB)/4, $0xc2adcccd
DATA expc<>+52(SB)/4, $0xc2adcccd
DATA expc<>+56(SB)/4, $0xc2adcccd
DATA expc<>+60(SB)/4, $0xc2adcccd
DATA expc<>+64(SB)/4, $0x3fb8aa3b
DATA expc<>+68(SB)/4, $0x3fb8aa3b
DATA expc<>+72(SB)/4, $0x3fb8aa3b
DATA expc<>+76(SB)/4, $0x3fb8aa3b
DATA expc<>+80(SB)/4, $0x3fb8aa3b
DATA expc<>+84(SB)/4, $0x3fb8aa3b
DATA expc<>+88(SB)/4, $0x3fb8aa3b
DATA expc<>+92(SB)/4, $0x3fb8aa3b
DATA expc<>+96(SB)/4, $0x4b400000
DATA expc<>+100(SB)/4, $0x4b400000
DATA expc<>+104(SB)/4, $0x4b400000
DATA expc<>+108(SB)/4, $0x4b400000
DATA expc<>+112(SB)/4, $0x4b400000
DATA expc<>+116(SB)/4, $0x4b400000
DATA expc<>+120(SB)/4, $0x4b400000
DATA expc<>+124(SB)/4, $0x4b400000
DATA expc<>+128(SB)/4, $0x3f318000
DATA expc<>+132(SB)/4, $0x3f318000
DATA expc<>+136(SB)/4, $0x3f318000
DATA expc<>+140(SB)/4, $0x3f318000
DATA expc<>+144(SB)/4, $0x3f318000
DATA expc<>+148(SB)/4, $0x3f318000
DATA expc<>+152(SB)/4, $0x3f318000
DATA expc<>+156(SB)/4, $0x3f318000
DATA expc<>+160(SB)/4, $0xb95e8083
DATA expc<>+164(SB)/4, $0xb95e8083
DATA expc<>+168(SB)/4, $0xb95e8083
DATA expc<>+172(SB)/4, $0xb95e8083
DATA expc<>+176(SB)/4, $0xb95e8083
DATA expc<>+180(SB)/4, $0xb95e8083
DATA expc<>+184(SB)/4, $0xb95e8083
DATA expc<>+188(SB)/4, $0xb95e8083
DATA expc<>+192(SB)/4, $0x39506967
DATA expc<>+196(SB)/4, $0x39506967
DATA expc<>+200(SB)/4, $0x39506967
DATA expc<>+204(SB)/4, $0x39506967
DATA expc<>+208(SB)/4, $0x39506967
DATA expc<>+212(SB)/4, $0x39506967
DATA expc<>+216(SB)/4, $0x39506967
DATA expc<>+220(SB)/4, $0x39506967
DATA expc<>+224(SB)/4, $0x3ab743ce
DATA expc<>+228(SB)/4, $0x3ab743ce
DATA expc<>+232(SB)/4, $0x3ab743ce
DATA expc<>+236(SB)/4, $0x3ab743ce
DATA expc<>+240(SB)/4, $0x3ab743ce
DATA expc<>+244(SB)/4, $0x3ab743ce
DATA expc<>+248(SB)/4, $0x3ab743ce
DATA expc<>+252(SB)/4, $0x3ab743ce
DATA expc<>+256(SB)/4, $0x3c088908
DATA expc<>+260(SB)/4, $0x3c088908
DATA expc<>+264(SB)/4, $0x3c088908
DATA expc<>+268(SB)/4, $0x3c088908
DATA expc<>+272(SB)/4, $0x3c088908
DATA expc<>+276(SB)/4, $0x3c088908
DATA expc<>+280(SB)/4, $0x3c088908
DATA expc<>+284(SB)/4, $0x3c088908
DATA expc<>+288(SB)/4, $0x3d2aa9c1
DATA expc<>+292(SB)/4, $0x3d2aa9c1
DATA expc<>+296(SB)/4, $0x3d2aa9c1
DATA expc<>+300(SB)/4, $0x3d2aa9c1
DATA expc<>+304(SB)/4, $0x3d2aa9c1
DATA expc<>+308(SB)/4, $0x3d2aa9c1
DATA expc<>+312(SB)/4, $0x3d2aa9c1
DATA expc<>+316(SB)/4, $0x3d2aa9c1
DATA expc<>+320(SB)/4, $0x3e2aaaaa
DATA expc<>+324(SB)/4, $0x3e2aaaaa
DATA expc<>+328(SB)/4, $0x3e2aaaaa
DATA expc<>+332(SB)/4, $0x3e2aaaaa
DATA expc<>+336(SB)/4, $0x3e2aaaaa
DATA expc<>+340(SB)/4, $0x3e2aaaaa
DATA expc<>+344(SB)/4, $0x3e2aaaaa
DATA expc<>+348(SB)/4, $0x3e2aaaaa
DATA expc<>+352(SB)/4, $0x3f000000
DATA expc<>+356(SB)/4, $0x3f000000
DATA expc<>+360(SB)/4, $0x3f000000
DATA expc<>+364(SB)/4, $0x3f000000
DATA expc<>+368(SB)/4, $0x3f000000
DATA expc<>+372(SB)/4, $0x3f000000
DATA expc<>+376(SB)/4, $0x3f000000
DATA expc<>+380(SB)/4, $0x3f000000
DATA expc<>+384(SB)/4, $0x3f800000
DATA expc<>+388(SB)/4, $0x3f800000
DATA expc<>+392(SB)/4, $0x3f800000
DATA expc<>+396(SB)/4, $0x3f800000
DATA expc<>+400(SB)/4, $0x3f800000
DATA expc<>+404(SB)/4, $0x3f800000
DATA expc<>+408(SB)/4, $0x3f800000
DATA expc<>+412(SB)/4, $0x3f800000
DATA expc<>+416(SB)/4, $0x7f800000
DATA expc<>+420(SB)/4, $0x7f800000
DATA expc<>+424(SB)/4, $0x7f800000
DATA expc<>+428(SB)/4, $0x7f800000
DATA expc<>+432(SB)/4, $0x7f800000
DATA expc<>+436(SB)/4, $0x7f800000
DATA expc<>+440(SB)/4, $0x7f800000
DATA expc<>+444(SB)/4, $0x7f800000
GLOBL expc<>(SB), RODATA|NOPTR, $448

// func expSubSumAVX2(x *float32, n int, m float32) float32
//
// x[i] = exp(x[i] − m) in place over n floats (n a multiple of 8); returns
// the sum of the results (softmax's numerator and denominator).
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y8
	VXORPS       Y7, Y7, Y7
	TESTQ        CX, CX
	JE           essum

esloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y8, Y0, Y0
	VCMPPS       $13, expc<>+32(SB), Y0, Y5
	VCMPPS       $14, expc<>+0(SB), Y0, Y6
	VMINPS       expc<>+0(SB), Y0, Y0
	VMAXPS       expc<>+32(SB), Y0, Y0
	VMOVUPS      expc<>+96(SB), Y1
	VFMADD231PS  expc<>+64(SB), Y0, Y1
	VSUBPS       expc<>+96(SB), Y1, Y2
	VFNMADD231PS expc<>+128(SB), Y2, Y0
	VFNMADD231PS expc<>+160(SB), Y2, Y0
	VMOVUPS      expc<>+192(SB), Y3
	VFMADD213PS  expc<>+224(SB), Y0, Y3
	VFMADD213PS  expc<>+256(SB), Y0, Y3
	VFMADD213PS  expc<>+288(SB), Y0, Y3
	VFMADD213PS  expc<>+320(SB), Y0, Y3
	VFMADD213PS  expc<>+352(SB), Y0, Y3
	VMULPS       Y0, Y0, Y2
	VFMADD213PS  Y0, Y2, Y3
	VADDPS       expc<>+384(SB), Y3, Y3
	VPSLLD       $23, Y1, Y1
	VPADDD       Y1, Y3, Y0
	VANDPS       Y5, Y0, Y0
	VBLENDVPS    Y6, expc<>+416(SB), Y0, Y0
	VMOVUPS Y0, (SI)
	VADDPS  Y0, Y7, Y7
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNE     esloop

essum:
	VEXTRACTF128 $1, Y7, X1
	VADDPS       X1, X7, X7
	VMOVHLPS     X7, X7, X1
	VADDPS       X1, X7, X7
	VMOVSHDUP    X7, X1
	VADDSS       X1, X7, X7
	VMOVSS       X7, ret+24(FP)
	VZEROUPPER
	RET

// func sigmoidMulAVX2(x *float32, n int, a, b float32)
//
// x[i] = x[i] / (1 + exp(−(a·x[i] + b·x[i]³))) in place over n floats (n a
// multiple of 8): SiLU with a = 1, b = 0; tanh-GELU with a = 2·√(2/π),
// b = a·0.044715, since 0.5·(1 + tanh(z)) = 1/(1 + exp(−2z)) (this form
// has no cancellation for negative x).
TEXT ·sigmoidMulAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS a+16(FP), Y8
	VBROADCASTSS b+20(FP), Y9
	VXORPS       Y10, Y10, Y10
	TESTQ        CX, CX
	JE           smdone

smloop:
	VMOVUPS     (SI), Y4
	VMULPS      Y4, Y4, Y0
	VFMADD213PS Y8, Y9, Y0
	VMULPS      Y4, Y0, Y0
	VSUBPS      Y0, Y10, Y0
	VCMPPS       $13, expc<>+32(SB), Y0, Y5
	VCMPPS       $14, expc<>+0(SB), Y0, Y6
	VMINPS       expc<>+0(SB), Y0, Y0
	VMAXPS       expc<>+32(SB), Y0, Y0
	VMOVUPS      expc<>+96(SB), Y1
	VFMADD231PS  expc<>+64(SB), Y0, Y1
	VSUBPS       expc<>+96(SB), Y1, Y2
	VFNMADD231PS expc<>+128(SB), Y2, Y0
	VFNMADD231PS expc<>+160(SB), Y2, Y0
	VMOVUPS      expc<>+192(SB), Y3
	VFMADD213PS  expc<>+224(SB), Y0, Y3
	VFMADD213PS  expc<>+256(SB), Y0, Y3
	VFMADD213PS  expc<>+288(SB), Y0, Y3
	VFMADD213PS  expc<>+320(SB), Y0, Y3
	VFMADD213PS  expc<>+352(SB), Y0, Y3
	VMULPS       Y0, Y0, Y2
	VFMADD213PS  Y0, Y2, Y3
	VADDPS       expc<>+384(SB), Y3, Y3
	VPSLLD       $23, Y1, Y1
	VPADDD       Y1, Y3, Y0
	VANDPS       Y5, Y0, Y0
	VBLENDVPS    Y6, expc<>+416(SB), Y0, Y0
	VADDPS      expc<>+384(SB), Y0, Y0
	VDIVPS      Y0, Y4, Y4
	VMOVUPS     Y4, (SI)
	ADDQ        $32, SI
	SUBQ        $8, CX
	JNE         smloop

smdone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
//
// The largest of n floats, n a positive multiple of 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JE      mxfold

mxloop:
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, CX
	JNE    mxloop

mxfold:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
//
// x[i] *= s over n floats, n a multiple of 8.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	TESTQ        CX, CX
	JE           scdone

scloop:
	VMULPS  (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNE     scloop

scdone:
	VZEROUPPER
	RET
