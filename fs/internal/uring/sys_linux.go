package uring

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes (include/uapi/linux/io_uring.h). x/sys/unix has the syscall numbers but not the
// ABI constants, so they are spelled out here.
const (
	OpNop         uint8 = 0
	OpReadv       uint8 = 1
	OpWritev      uint8 = 2
	OpFsync       uint8 = 3
	OpAsyncCancel uint8 = 14
	OpOpenat      uint8 = 18
	OpClose       uint8 = 19
	OpStatx       uint8 = 21
	OpRead        uint8 = 22
	OpWrite       uint8 = 23
)

const (
	setupClamp     = 1 << 4
	setupSubmitAll = 1 << 7

	featSingleMmap = 1 << 0
	featNoDrop     = 1 << 1
	featExtArg     = 1 << 8

	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	registerFiles       = 2
	registerFilesUpdate = 6
	registerEventfd     = 4
	unregisterEventfd   = 5
	registerProbe       = 8
	registerFiles2      = 13

	rsrcRegisterSparse = 1 << 0

	sqeFixedFile = 1 << 0

	probeOpSupported = 1 << 0

	// FsyncDatasync makes IORING_OP_FSYNC behave as fdatasync.
	FsyncDatasync = 1 << 0
)

// SQE is struct io_uring_sqe (64 bytes). It holds no Go pointers: addresses are stored as
// integers, which is why the Engine keeps its own references (see the package doc).
type SQE struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64 // also addr2
	Addr        uint64
	Len         uint32
	OpFlags     uint32 // rw_flags, fsync_flags, open_flags, statx_flags, cancel_flags...
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	FileIndex   int32
	Addr3       uint64
	_           uint64
}

// CQE is struct io_uring_cqe (16 bytes, no IORING_SETUP_CQE32).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

type sqRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	resv         [3]uint32
	sqOff        sqRingOffsets
	cqOff        cqRingOffsets
}

// rsrcRegister is struct io_uring_rsrc_register (IORING_REGISTER_FILES2).
type rsrcRegister struct {
	nr    uint32
	flags uint32
	resv2 uint64
	data  uint64
	tags  uint64
}

// filesUpdate is struct io_uring_files_update.
type filesUpdate struct {
	offset uint32
	resv   uint32
	fds    uint64
}

type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16
	resv2 uint32
}

type probe struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
	ops    [256]probeOp
}

// Compile-time ABI size checks: a wrong layout would corrupt the rings silently.
var (
	_ [64 - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(SQE{}) - 64]byte
	_ [16 - unsafe.Sizeof(CQE{})]byte
	_ [unsafe.Sizeof(CQE{}) - 16]byte
	_ [120 - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(params{}) - 120]byte
	_ [32 - unsafe.Sizeof(rsrcRegister{})]byte
	_ [unsafe.Sizeof(rsrcRegister{}) - 32]byte
	_ [16 - unsafe.Sizeof(filesUpdate{})]byte
	_ [unsafe.Sizeof(filesUpdate{}) - 16]byte
	_ [24 - unsafe.Sizeof(getEventsArg{})]byte
	_ [unsafe.Sizeof(getEventsArg{}) - 24]byte
)

func ioUringSetup(entries uint32, p *params) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func ioUringEnter(fd int, toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSz uintptr) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete),
		uintptr(flags), uintptr(arg), argSz)
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}

func ioUringRegister(fd int, opcode uint32, arg unsafe.Pointer, nrArgs uint32) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(opcode), uintptr(arg),
		uintptr(nrArgs), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// errnoOf turns a negative CQE result into the matching syscall.Errno.
func errnoOf(res int32) error {
	if res >= 0 {
		return nil
	}
	return syscall.Errno(-res)
}
