//go:build !noasm

#include "textflag.h"

// Decode's attention for one query head over n cached positions (see
// attn.go): the scores against the keys, then the values weighted by the
// softmax, each one call over all positions instead of a Dot or an Axpy
// per position (whose call and reduction costs dominated at 128 floats).

// func attnScoresAVX2(s *float32, q *float32, k *float32, stride, n, dim int, scale float32)
//
// s[j] = scale·Σ_c q[c]·k[j·stride+c], dim a multiple of 8. Four rows at
// a time, each with two accumulators (even and odd 8-float chunks), so 8
// independent FMA chains hide the latency; the four rows' sums are folded
// together by VHADDPS and stored as one vector.
TEXT ·attnScoresAVX2(SB), NOSPLIT, $0-52
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), R8
	MOVQ stride+24(FP), R9
	SHLQ $2, R9
	MOVQ n+32(FP), R10
	MOVQ dim+40(FP), R11
	SHLQ $2, R11
	MOVQ R11, BX
	ANDQ $-64, BX
	VBROADCASTSS scale+48(FP), Y15

rows4:
	CMPQ R10, $4
	JLT  rows1
	LEAQ (R8)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	// Prefetch the next four rows: 4 KB apart in the cache (all key/value
	// heads of a position), a stride the hardware prefetchers miss.
	LEAQ (R14)(R9*1), R15
	XORQ AX, AX

pf:
	CMPQ       AX, R11
	JGE        pfdone
	PREFETCHT0 (R15)(AX*1)
	LEAQ       (R15)(R9*1), CX
	PREFETCHT0 (CX)(AX*1)
	ADDQ       R9, CX
	PREFETCHT0 (CX)(AX*1)
	ADDQ       R9, CX
	PREFETCHT0 (CX)(AX*1)
	ADDQ       $64, AX
	JMP        pf

pfdone:
	XORQ AX, AX

c16:
	CMPQ        AX, BX
	JGE         c8
	VMOVUPS     (SI)(AX*1), Y8
	VMOVUPS     32(SI)(AX*1), Y9
	VFMADD231PS (R8)(AX*1), Y8, Y0
	VFMADD231PS 32(R8)(AX*1), Y9, Y4
	VFMADD231PS (R12)(AX*1), Y8, Y1
	VFMADD231PS 32(R12)(AX*1), Y9, Y5
	VFMADD231PS (R13)(AX*1), Y8, Y2
	VFMADD231PS 32(R13)(AX*1), Y9, Y6
	VFMADD231PS (R14)(AX*1), Y8, Y3
	VFMADD231PS 32(R14)(AX*1), Y9, Y7
	ADDQ        $64, AX
	JMP         c16

c8:
	CMPQ        AX, R11
	JGE         red4
	VMOVUPS     (SI)(AX*1), Y8
	VFMADD231PS (R8)(AX*1), Y8, Y0
	VFMADD231PS (R12)(AX*1), Y8, Y1
	VFMADD231PS (R13)(AX*1), Y8, Y2
	VFMADD231PS (R14)(AX*1), Y8, Y3
	ADDQ        $32, AX
	JMP         c8

red4:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMULPS       X15, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	LEAQ         (R14)(R9*1), R8
	SUBQ         $4, R10
	JMP          rows4

rows1:
	CMPQ   R10, $0
	JLE    done
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX

r1c8:
	CMPQ        AX, R11
	JGE         r1red
	VMOVUPS     (SI)(AX*1), Y8
	VFMADD231PS (R8)(AX*1), Y8, Y0
	ADDQ        $32, AX
	JMP         r1c8

r1red:
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMULSS       X15, X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	ADDQ         R9, R8
	DECQ         R10
	JMP          rows1

done:
	VZEROUPPER
	RET

// func attnValuesAVX2(out *float32, s *float32, v *float32, stride, n, dim int)
//
// out[c] += Σ_j s[j]·v[j·stride+c], dim a multiple of 8. The columns are taken 32 at a time (four registers), the rows two at
// a time into separate accumulators (8 independent FMA chains), each
// weight broadcast once per row.
TEXT ·attnValuesAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ stride+24(FP), R9
	SHLQ $2, R9
	MOVQ n+32(FP), R10
	MOVQ dim+40(FP), R11
	SHLQ $2, R11
	MOVQ R10, DX
	ANDQ $-2, DX
	XORQ AX, AX

chunk32:
	MOVQ   R11, BX
	SUBQ   AX, BX
	CMPQ   BX, $128
	JLT    chunk8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	LEAQ   (R8)(AX*1), R12
	LEAQ   (R12)(R9*1), R13
	XORQ   CX, CX

a2:
	CMPQ         CX, DX
	JGE          a1
	PREFETCHT0   (R12)(R9*4)
	PREFETCHT0   64(R12)(R9*4)
	PREFETCHT0   (R13)(R9*4)
	PREFETCHT0   64(R13)(R9*4)
	VBROADCASTSS (SI)(CX*4), Y8
	VBROADCASTSS 4(SI)(CX*4), Y9
	VFMADD231PS  (R12), Y8, Y0
	VFMADD231PS  32(R12), Y8, Y1
	VFMADD231PS  64(R12), Y8, Y2
	VFMADD231PS  96(R12), Y8, Y3
	VFMADD231PS  (R13), Y9, Y4
	VFMADD231PS  32(R13), Y9, Y5
	VFMADD231PS  64(R13), Y9, Y6
	VFMADD231PS  96(R13), Y9, Y7
	LEAQ         (R12)(R9*2), R12
	LEAQ         (R13)(R9*2), R13
	ADDQ         $2, CX
	JMP          a2

a1:
	CMPQ         CX, R10
	JGE          astore
	VBROADCASTSS (SI)(CX*4), Y8
	VFMADD231PS  (R12), Y8, Y0
	VFMADD231PS  32(R12), Y8, Y1
	VFMADD231PS  64(R12), Y8, Y2
	VFMADD231PS  96(R12), Y8, Y3

astore:
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	VADDPS  (DI)(AX*1), Y0, Y0
	VADDPS  32(DI)(AX*1), Y1, Y1
	VADDPS  64(DI)(AX*1), Y2, Y2
	VADDPS  96(DI)(AX*1), Y3, Y3
	VMOVUPS Y0, (DI)(AX*1)
	VMOVUPS Y1, 32(DI)(AX*1)
	VMOVUPS Y2, 64(DI)(AX*1)
	VMOVUPS Y3, 96(DI)(AX*1)
	ADDQ    $128, AX
	JMP     chunk32

chunk8:
	CMPQ   AX, R11
	JGE    vdone
	VXORPS Y0, Y0, Y0
	VXORPS Y4, Y4, Y4
	LEAQ   (R8)(AX*1), R12
	LEAQ   (R12)(R9*1), R13
	XORQ   CX, CX

b2:
	CMPQ         CX, DX
	JGE          b1
	PREFETCHT0   (R12)(R9*4)
	PREFETCHT0   (R13)(R9*4)
	VBROADCASTSS (SI)(CX*4), Y8
	VBROADCASTSS 4(SI)(CX*4), Y9
	VFMADD231PS  (R12), Y8, Y0
	VFMADD231PS  (R13), Y9, Y4
	LEAQ         (R12)(R9*2), R12
	LEAQ         (R13)(R9*2), R13
	ADDQ         $2, CX
	JMP          b2

b1:
	CMPQ         CX, R10
	JGE          bstore
	VBROADCASTSS (SI)(CX*4), Y8
	VFMADD231PS  (R12), Y8, Y0

bstore:
	VADDPS  Y4, Y0, Y0
	VADDPS  (DI)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	JMP     chunk8

vdone:
	VZEROUPPER
	RET
