//go:build !purego

#include "textflag.h"

// func valueStop(b []byte) int
//
// Sixteen or thirty-two bytes per step: a byte is a stop when min(c, 0x1f) == c (c below
// SP, unsigned) or c == 0x7f. A window may read past len(b) but never past
// cap(b); the bits of bytes beyond len are dropped. Near the end of cap the
// last window is the one that ends at len.
TEXT ·valueStop(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	MOVQ b_cap+16(FP), R9
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x7f7f7f7f7f7f7f7f, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2
	XORQ DX, DX

	// Thirty-two bytes per step while they are all within len.
loop32:
	LEAQ 32(DX), AX
	CMPQ AX, BX
	JA   loop
	MOVOU (SI)(DX*1), X0
	MOVOU 16(SI)(DX*1), X4
	MOVOU X0, X3
	PMINUB X1, X3
	PCMPEQB X0, X3
	PCMPEQB X2, X0
	POR X0, X3
	MOVOU X4, X6
	PMINUB X1, X6
	PCMPEQB X4, X6
	PCMPEQB X2, X4
	POR X4, X6
	PMOVMSKB X3, AX
	PMOVMSKB X6, CX
	SHLL $16, CX
	ORL  CX, AX
	JNZ  found
	ADDQ $32, DX
	JMP  loop32

loop:
	CMPQ DX, BX
	JAE  retlen
	LEAQ 16(DX), AX
	CMPQ AX, R9
	JA   tail
	MOVOU (SI)(DX*1), X0
	MOVOU X0, X3
	PMINUB X1, X3
	PCMPEQB X0, X3
	PCMPEQB X2, X0
	POR X0, X3
	PMOVMSKB X3, AX
	MOVQ BX, CX
	SUBQ DX, CX
	CMPQ CX, $16
	JAE  full
	MOVL $1, R8
	SHLL CX, R8
	DECL R8
	ANDL R8, AX

full:
	TESTL AX, AX
	JNZ   found
	ADDQ  $16, DX
	JMP   loop

found:
	BSFL AX, AX
	ADDQ AX, DX
	MOVQ DX, ret+24(FP)
	RET

tail:
	// Less than sixteen bytes of capacity left: the window that ends at
	// len, less the bytes of it already seen, or one byte at a time when b
	// is shorter than a window.
	CMPQ BX, $16
	JB   bytes
	LEAQ -16(BX), R8
	MOVOU (SI)(R8*1), X0
	MOVOU X0, X3
	PMINUB X1, X3
	PCMPEQB X0, X3
	PCMPEQB X2, X0
	POR X0, X3
	PMOVMSKB X3, AX
	MOVQ DX, CX
	SUBQ R8, CX
	SHRL CX, AX
	TESTL AX, AX
	JZ   retlen
	JMP  found

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
