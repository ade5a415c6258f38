package uring

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance with its three shared mappings. It is not safe for
// concurrent use: the Engine holds a lock around submission-side calls and allows one
// reaper at a time on the completion side.
type Ring struct {
	fd       int
	features uint32
	flags    uint32

	sqMem, cqMem, sqeMem []byte // cqMem aliases sqMem with IORING_FEAT_SINGLE_MMAP

	sqHead, sqTail, sqFlags *uint32
	sqMask, sqEntries       uint32
	sqes                    []SQE
	sqLocalTail             uint32 // next free slot; published to *sqTail by Publish

	cqHead, cqTail *uint32
	cqFlags        *uint32 // nil before 5.8 (no IORING_CQ_EVENTFD_DISABLED)
	cqMask         uint32
	cqEntries      uint32
	cqes           []CQE

	ops [256]bool // opcodes the kernel reports as supported (IORING_REGISTER_PROBE)

	upd   filesUpdate // UpdateFile's argument, kept off the stack
	updFd int32
}

// ErrUnavailable wraps the reason io_uring cannot be used on this system.
var ErrUnavailable = errors.New("uring: io_uring unavailable")

// DisabledBySysctl reports the value of /proc/sys/kernel/io_uring_disabled (0 = allowed,
// 1 = only for the io_uring_group, 2 = disabled) or -1 if the knob does not exist.
func DisabledBySysctl() int {
	b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	if err != nil {
		return -1
	}
	switch strings.TrimSpace(string(b)) {
	case "0":
		return 0
	case "1":
		return 1
	case "2":
		return 2
	}
	return -1
}

// NewRing sets up a ring with at least entries SQEs (rounded up to a power of two and
// clamped by the kernel) and twice as many CQEs.
func NewRing(entries uint32) (*Ring, error) { return newRing(entries, 0) }

func newRing(entries, extra uint32) (*Ring, error) {
	var p params
	p.flags = setupClamp | setupSubmitAll | extra
	fd, err := ioUringSetup(entries, &p)
	if err == unix.EINVAL {
		// IORING_SETUP_SUBMIT_ALL is 5.18+; without it a bad SQE stops the batch early,
		// which flush copes with.
		p = params{flags: setupClamp}
		fd, err = ioUringSetup(entries, &p)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: io_uring_setup: %w (kernel.io_uring_disabled=%d)", ErrUnavailable, err, DisabledBySysctl())
	}
	r := &Ring{fd: fd, features: p.features, flags: p.flags}
	if err := r.mapRings(&p); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := r.probeOps(); err != nil {
		r.Close()
		return nil, fmt.Errorf("%w: probe: %w", ErrUnavailable, err)
	}
	return r, nil
}

func (r *Ring) mapRings(p *params) error {
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(CQE{})))
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
		cqSize = sqSize
	}
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_SHARED | unix.MAP_POPULATE
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return fmt.Errorf("uring: mmap sq ring: %w", err)
	}
	if single {
		r.cqMem = r.sqMem
	} else if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
		r.unmap()
		return fmt.Errorf("uring: mmap cq ring: %w", err)
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(SQE{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, prot, flags); err != nil {
		r.unmap()
		return fmt.Errorf("uring: mmap sqes: %w", err)
	}

	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead = u32(r.sqMem, p.sqOff.head)
	r.sqTail = u32(r.sqMem, p.sqOff.tail)
	r.sqFlags = u32(r.sqMem, p.sqOff.flags)
	r.sqMask = *u32(r.sqMem, p.sqOff.ringMask)
	r.sqEntries = *u32(r.sqMem, p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), r.sqEntries)
	// The SQ array indirects ring slots to SQE indices; an identity map lets the SQE at
	// ring position i live at sqes[i&mask], so it is written once here and never again.
	array := unsafe.Slice(u32(r.sqMem, p.sqOff.array), r.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqLocalTail = atomic.LoadUint32(r.sqTail)

	r.cqHead = u32(r.cqMem, p.cqOff.head)
	r.cqTail = u32(r.cqMem, p.cqOff.tail)
	if p.cqOff.flags != 0 {
		r.cqFlags = u32(r.cqMem, p.cqOff.flags)
	}
	r.cqMask = *u32(r.cqMem, p.cqOff.ringMask)
	r.cqEntries = *u32(r.cqMem, p.cqOff.ringEntries)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), r.cqEntries)
	return nil
}

func (r *Ring) probeOps() error {
	pr := new(probe)
	// Pre-5.6 kernels have no probe (EINVAL), and no IORING_OP_READ either, so a failed
	// probe means the ring is of no use to us.
	if err := ioUringRegister(r.fd, registerProbe, unsafe.Pointer(pr), uint32(len(pr.ops))); err != nil {
		return err
	}
	for i := 0; i < int(pr.opsLen) && i < len(pr.ops); i++ {
		if pr.ops[i].flags&probeOpSupported != 0 {
			r.ops[pr.ops[i].op] = true
		}
	}
	return nil
}

// Supports reports whether the kernel implements opcode op.
func (r *Ring) Supports(op uint8) bool { return r.ops[op] }

// Fd is the ring's file descriptor.
func (r *Ring) Fd() int { return r.fd }

// SQEntries and CQEntries are the ring sizes the kernel chose.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// HasExtArg reports IORING_FEAT_EXT_ARG (timeouts on io_uring_enter waits).
func (r *Ring) HasExtArg() bool { return r.features&featExtArg != 0 }

// SQSpace is how many SQEs can be queued before the kernel consumes some.
func (r *Ring) SQSpace() uint32 {
	return r.sqEntries - (r.sqLocalTail - atomic.LoadUint32(r.sqHead))
}

// Queued is how many SQEs were queued and not yet consumed by the kernel.
func (r *Ring) Queued() uint32 { return r.sqLocalTail - atomic.LoadUint32(r.sqHead) }

// Queue copies s into the next free SQE. It returns false when the SQ is full. The entry is
// invisible to the kernel until Publish.
func (r *Ring) Queue(s *SQE) bool {
	if r.SQSpace() == 0 {
		return false
	}
	r.sqes[r.sqLocalTail&r.sqMask] = *s
	r.sqLocalTail++
	return true
}

// Publish makes every queued SQE visible to the kernel (store-release of the SQ tail) and
// returns how many are published but not yet consumed.
func (r *Ring) Publish() uint32 {
	atomic.StoreUint32(r.sqTail, r.sqLocalTail)
	return r.sqLocalTail - atomic.LoadUint32(r.sqHead)
}

// Unconsumed returns the user data of SQEs published but not consumed by the kernel, and
// takes them back out of the ring. Only for the error path of Enter, when the kernel
// refused the whole batch and will not read those entries.
func (r *Ring) Unconsumed() []uint64 {
	head := atomic.LoadUint32(r.sqHead)
	var out []uint64
	for i := head; i != r.sqLocalTail; i++ {
		out = append(out, r.sqes[i&r.sqMask].UserData)
	}
	r.sqLocalTail = head
	atomic.StoreUint32(r.sqTail, head)
	return out
}

// Enter calls io_uring_enter, retrying on EINTR.
func (r *Ring) Enter(toSubmit, minComplete, flags uint32) (int, error) {
	for {
		n, err := ioUringEnter(r.fd, toSubmit, minComplete, flags, nil, 0)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// WaitTimeout waits up to ns nanoseconds for at least one CQE (needs IORING_FEAT_EXT_ARG).
func (r *Ring) WaitTimeout(ns int64) error {
	ts := unix.NsecToTimespec(ns)
	arg := getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&ts)))}
	_, err := ioUringEnter(r.fd, 0, 1, enterGetEvents|enterExtArg, unsafe.Pointer(&arg), unsafe.Sizeof(arg))
	if err == unix.ETIME || err == unix.EINTR {
		return nil
	}
	return err
}

// Reap copies up to len(dst) CQEs out of the completion ring, then releases their slots to
// the kernel. Only one goroutine may reap at a time.
func (r *Ring) Reap(dst []CQE) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail) // acquire: CQE contents below are complete
	n := 0
	for head != tail && n < len(dst) {
		dst[n] = r.cqes[head&r.cqMask]
		head++
		n++
	}
	if n > 0 {
		atomic.StoreUint32(r.cqHead, head) // release: we are done reading those CQEs
	}
	return n
}

// CQReady is the number of CQEs waiting to be reaped.
func (r *Ring) CQReady() uint32 {
	return atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead)
}

const cqEventfdDisabled = 1 << 0

// SetEventfdEnabled toggles IORING_CQ_EVENTFD_DISABLED. While disabled, CQEs are posted
// without signalling the eventfd, so whoever disabled it must reap after re-enabling.
// It reports false when the kernel lacks the flag (the eventfd then always fires).
func (r *Ring) SetEventfdEnabled(on bool) bool {
	if r.cqFlags == nil {
		return false
	}
	for {
		old := atomic.LoadUint32(r.cqFlags)
		nv := old | cqEventfdDisabled
		if on {
			nv = old &^ cqEventfdDisabled
		}
		if atomic.CompareAndSwapUint32(r.cqFlags, old, nv) {
			return true
		}
	}
}

// RegisterSparseFiles gives the ring a table of n empty fixed-file slots. SQEs that name a
// slot (IOSQE_FIXED_FILE) skip the per-operation lookup and reference count of the fd,
// an atomic on the file that every core reading the same file would otherwise bounce.
func (r *Ring) RegisterSparseFiles(n uint32) error {
	reg := rsrcRegister{nr: n, flags: rsrcRegisterSparse}
	err := ioUringRegister(r.fd, registerFiles2, unsafe.Pointer(&reg), uint32(unsafe.Sizeof(reg)))
	if err == nil {
		return nil
	}
	// Before 5.19 there is no sparse flag, but a table of -1 entries means the same.
	fds := make([]int32, n)
	for i := range fds {
		fds[i] = -1
	}
	return ioUringRegister(r.fd, registerFiles, unsafe.Pointer(&fds[0]), n)
}

// UpdateFile puts fd into fixed-file slot idx (fd -1 empties it). Operations already
// submitted keep the file they resolved, so emptying a slot never pulls a file from under
// them.
func (r *Ring) UpdateFile(idx uint32, fd int32) error {
	// The kernel follows a pointer stored as an integer, which Go does not track: both
	// objects are fields of the Ring, a heap object that Go never moves. Not safe for
	// concurrent use, like the rest of Ring.
	r.updFd = fd
	r.upd = filesUpdate{offset: idx, fds: uint64(uintptr(unsafe.Pointer(&r.updFd)))}
	return ioUringRegister(r.fd, registerFilesUpdate, unsafe.Pointer(&r.upd), 1)
}

// RegisterEventfd makes the kernel signal efd whenever it posts a CQE.
func (r *Ring) RegisterEventfd(efd int) error {
	fd := int32(efd)
	return ioUringRegister(r.fd, registerEventfd, unsafe.Pointer(&fd), 1)
}

// UnregisterEventfd undoes RegisterEventfd.
func (r *Ring) UnregisterEventfd() error {
	return ioUringRegister(r.fd, unregisterEventfd, nil, 0)
}

func (r *Ring) unmap() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.cqMem != nil && (r.sqMem == nil || &r.cqMem[0] != &r.sqMem[0]) {
		unix.Munmap(r.cqMem)
	}
	r.cqMem = nil
	if r.sqMem != nil {
		unix.Munmap(r.sqMem)
		r.sqMem = nil
	}
	r.sqes, r.cqes = nil, nil
}

// Close unmaps the rings and closes the ring fd. The caller must first make sure nothing
// is in flight (Engine.Close does), or the kernel may still write into user buffers.
func (r *Ring) Close() error {
	r.unmap()
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}
