package reactor

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// These wrap syscalls that never block (non-blocking sockets, zero-timeout epoll) with
// RawSyscall: the loop skips the runtime's enter/exit-syscall bookkeeping, which on a
// busy loop costs more than the syscalls themselves and may hand the P away.

func rawRead(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

func rawWrite(fd int, p []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), e
}

func rawWritev(fd int, iov []unix.Iovec) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	return int(r), e
}

// pollNow collects ready events without blocking.
func (p *poller) pollNow() int {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
	if e != 0 {
		return 0
	}
	return int(r)
}
