//go:build !purego

#include "textflag.h"

// STOPS16 leaves in dst the 16-bit mask of the bytes of X0 that are stops:
// min(c, 0x1f) == c (c below SP, unsigned) or c == 0x7f. X1 holds 0x1f and
// X2 0x7f in every byte; X0 and X3 are clobbered.
#define STOPS16(dst) \
	MOVOU X0, X3 \
	PMINUB X1, X3 \
	PCMPEQB X0, X3 \
	PCMPEQB X2, X0 \
	POR X0, X3 \
	PMOVMSKB X3, dst

// func valueStop(b []byte) int
//
// Thirty-two bytes per step, then sixteen, then the sixteen that end at
// len(b), less those already seen: nothing outside b is read.
TEXT ·valueStop(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x7f7f7f7f7f7f7f7f, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2
	XORQ DX, DX

loop32:
	LEAQ 32(DX), AX
	CMPQ AX, BX
	JA   step16
	MOVOU (SI)(DX*1), X0
	STOPS16(AX)
	MOVOU 16(SI)(DX*1), X0
	STOPS16(CX)
	SHLL $16, CX
	ORL  CX, AX
	JNZ  found
	ADDQ $32, DX
	JMP  loop32

step16:
	LEAQ 16(DX), AX
	CMPQ AX, BX
	JA   tail
	MOVOU (SI)(DX*1), X0
	STOPS16(AX)
	TESTL AX, AX
	JNZ  found
	ADDQ $16, DX

tail:
	// Fewer than sixteen bytes left.
	CMPQ DX, BX
	JAE  retlen
	CMPQ BX, $16
	JB   bytes
	LEAQ -16(BX), R8
	MOVOU (SI)(R8*1), X0
	STOPS16(AX)
	MOVQ DX, CX
	SUBQ R8, CX
	SHRL CX, AX
	TESTL AX, AX
	JZ   retlen

found:
	BSFL AX, AX
	ADDQ AX, DX
	MOVQ DX, ret+24(FP)
	RET

bytes:
	MOVBLZX (SI)(DX*1), AX
	CMPL AX, $0x20
	JB   ret
	CMPL AX, $0x7f
	JEQ  ret
	INCQ DX
	CMPQ DX, BX
	JB   bytes

retlen:
	MOVQ BX, DX

ret:
	MOVQ DX, ret+24(FP)
	RET
