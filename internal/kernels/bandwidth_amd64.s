//go:build !noasm

#include "textflag.h"

// func readXorAVX2(p *byte, n int) uint64
//
// XORs n bytes (n a multiple of 128) into one word: the bandwidth probes'
// plain read. Integer, so the time cannot depend on the values (a float
// sum of arbitrary weight bytes meets denormals, which some CPUs slow
// down on); 128 bytes an iteration in four 256-bit loads, as dotAVX2 reads.
TEXT ·readXorAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop:
	CMPQ CX, $128
	JB   done
	VPXOR 0(SI), Y0, Y0
	VPXOR 32(SI), Y1, Y1
	VPXOR 64(SI), Y2, Y2
	VPXOR 96(SI), Y3, Y3
	ADDQ  $128, SI
	SUBQ  $128, CX
	JMP   loop

done:
	VPXOR        Y1, Y0, Y0
	VPXOR        Y3, Y2, Y2
	VPXOR        Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPXOR        X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPXOR        X1, X0, X0
	VMOVQ        X0, ret+16(FP)
	VZEROUPPER
	RET
