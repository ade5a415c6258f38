package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	// ErrClosed is returned for submissions after Close.
	ErrClosed = errors.New("uring: engine closed")
	// ErrNotInFlight is returned by Cancel when the operation already completed.
	ErrNotInFlight = errors.New("uring: operation not in flight")
	// ErrOpUnsupported is returned when the kernel lacks the opcode.
	ErrOpUnsupported = errors.New("uring: opcode not supported by this kernel")
)

// MaxIO caps the length of one read or write SQE: the CQE result is an int32, and the
// kernel itself never moves more than about 2 GiB per call.
const MaxIO = 1 << 30

// Completion receives the result of one operation: res is the syscall's return value or a
// negated errno. It runs on whichever goroutine reaps (a reactor loop, the engine's own
// reaper, or a canceller), so it must not block, and must not call Reap or Close.
type Completion interface {
	Complete(res int32, flags uint32)
}

// CompletionFunc adapts a function to Completion.
type CompletionFunc func(res int32, flags uint32)

// Complete calls f.
func (f CompletionFunc) Complete(res int32, flags uint32) { f(res, flags) }

// Ticket names one submitted operation, for Cancel. The zero Ticket names nothing.
type Ticket uint64

const (
	slotFree      uint8 = iota
	slotQueued          // waiting in the Go-side FIFO for ring or in-flight room
	slotSubmitted       // in the SQ ring or owned by the kernel
)

type slot struct {
	gen    uint32
	state  uint8
	cancel bool // an ASYNC_CANCEL for this slot was queued
	intern bool // engine-internal (cancel requests): no user Completion
	c      Completion
	buf    []byte // the buffer the kernel reads or writes; referenced until the CQE
	aux    any    // other memory the kernel touches (path, statx buffer)
	sqe    SQE
}

// Config tunes an Engine.
type Config struct {
	// Entries is the SQ size (rounded up to a power of two; CQ is twice that). Default 256.
	Entries uint32
	// FixedFiles is the size of the ring's registered-file table (RegisterFile).
	// Default 256; a kernel that refuses the table just leaves RegisterFile failing.
	FixedFiles uint32
	// OwnReaper runs a goroutine that waits on the ring's eventfd through Go's netpoller
	// and reaps. Leave it off when a reactor loop watches EventFd and calls Reap.
	OwnReaper bool
	// Defer, when set, is called (outside any lock) instead of submitting inline when
	// the first SQE of a new batch is queued; it must arrange for Flush to run soon (a
	// reactor loop's inbox). Everything queued until then goes in one io_uring_enter. If
	// it returns an error the submitter flushes itself.
	Defer func() error
	// InlineMax, with Defer, lets a read or write of at most InlineMax bytes be entered
	// by its submitter, which then reaps what completed inside the syscall, when the
	// ring is idle and Flush's recent enters carried one SQE each: a submitter that waits
	// for every operation gains nothing from the flusher (there is nothing to batch
	// with) and pays a hand-off to it and back. 0: never.
	InlineMax int
}

// inlineAfter single-SQE enters by Flush in a row switch a ring to inline submission; one in
// inlineProbe inline-eligible submissions still goes through the flusher, so that a
// submitter that starts keeping several operations in flight is noticed (its SQEs then
// share that flush) and the ring goes back to batching.
const (
	inlineAfter = 8
	inlineProbe = 128
)

// Stats are cumulative counters.
type Stats struct {
	Submitted, Completed, Enters, Cancels uint64
	InFlight                              int
}

// Engine multiplexes a Ring between goroutines. See the package doc for the buffer and
// memory-ordering rules.
type Engine struct {
	ring *Ring
	efd  int

	mu           sync.Mutex
	slots        []slot
	free         []uint32
	pending      []uint32 // FIFO of slotQueued indices
	inKernel     int      // slotSubmitted count: bounded by the CQ size so it can never overflow
	userInKernel int      // the part of inKernel that is not cancel requests
	maxInKernel  int
	maxUser      int
	flushing     bool // a goroutine is running flush; others just queue
	dead         bool // released: the rings are unmapped
	flushSched   bool // Defer was called and its Flush has not started yet
	deferFn      func() error
	inlineMax    int
	inlineMode   bool   // Flush's recent io_uring_enter calls carried one SQE each (InlineMax)
	singles      int    // how many in a row did
	inlineSeq    uint32 // counts inline-eligible submissions, for the probes
	closed       bool

	fileFree []uint32   // free registered-file slots, guarded by mu
	regMu    sync.Mutex // serialises Ring.UpdateFile, which reuses one argument buffer

	reapMu   sync.Mutex
	released bool // guarded by reapMu: the rings are unmapped
	cqeBuf   []CQE
	done     []doneItem

	efdFile    *os.File
	reaperDone chan struct{}

	regDead bool // guarded by regMu: the ring fd is closed

	relOnce sync.Once
	relErr  error

	submitted, completed, enters, cancels atomic.Uint64
}

type doneItem struct {
	c     Completion
	res   int32
	flags uint32
}

// New sets up a ring, an eventfd registered with it, and (with OwnReaper) a reaper.
func New(cfg Config) (*Engine, error) {
	if cfg.Entries == 0 {
		cfg.Entries = 256
	}
	ring, err := NewRing(cfg.Entries)
	if err != nil {
		return nil, err
	}
	for _, op := range []uint8{OpRead, OpWrite, OpAsyncCancel} {
		if !ring.Supports(op) {
			ring.Close()
			return nil, fmt.Errorf("%w: kernel lacks opcode %d", ErrUnavailable, op)
		}
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ring.Close()
		return nil, fmt.Errorf("uring: eventfd: %w", err)
	}
	if err := ring.RegisterEventfd(efd); err != nil {
		unix.Close(efd)
		ring.Close()
		return nil, fmt.Errorf("uring: register eventfd: %w", err)
	}
	e := &Engine{
		ring:        ring,
		efd:         efd,
		maxInKernel: int(ring.CQEntries()),
		maxUser:     int(ring.CQEntries()) / 2,
		cqeBuf:      make([]CQE, ring.CQEntries()),
		deferFn:     cfg.Defer,
		inlineMax:   cfg.InlineMax,
	}
	if cfg.FixedFiles == 0 {
		cfg.FixedFiles = 256
	}
	if ring.RegisterSparseFiles(cfg.FixedFiles) == nil {
		for i := cfg.FixedFiles; i > 0; i-- {
			e.fileFree = append(e.fileFree, i-1)
		}
	}
	if cfg.OwnReaper {
		// A non-blocking fd handed to os.NewFile joins Go's netpoller, so the reaper
		// parks like any goroutine instead of holding an OS thread in read(2).
		e.efdFile = os.NewFile(uintptr(efd), "uring-eventfd")
		e.reaperDone = make(chan struct{})
		go e.reaper()
	}
	return e, nil
}

// Ring exposes the underlying ring (read-only facts: sizes, supported opcodes).
func (e *Engine) Ring() *Ring { return e.ring }

// EventFd is signalled whenever a CQE is posted. A loop watching it calls DrainEventfd and
// then Reap on readiness.
func (e *Engine) EventFd() int { return e.efd }

// DrainEventfd resets the eventfd counter; call it before Reap so that a CQE posted after
// the reap signals again.
func (e *Engine) DrainEventfd() {
	var b [8]byte
	unix.Read(e.efd, b[:])
}

func (e *Engine) reaper() {
	defer close(e.reaperDone)
	var b [8]byte
	for {
		if _, err := e.efdFile.Read(b[:]); err != nil {
			return // closed by Close, after every operation completed
		}
		e.Reap()
	}
}

func userData(idx, gen uint32) uint64 { return uint64(gen)<<32 | uint64(idx) }

func (e *Engine) allocLocked() uint32 {
	if n := len(e.free); n > 0 {
		idx := e.free[n-1]
		e.free = e.free[:n-1]
		return idx
	}
	e.slots = append(e.slots, slot{gen: 1})
	return uint32(len(e.slots) - 1)
}

// releaseLocked frees a slot and drops its references: from here on the buffer belongs to
// the caller again.
func (e *Engine) releaseLocked(idx uint32) {
	sl := &e.slots[idx]
	*sl = slot{gen: sl.gen + 1}
	if sl.gen == 0 {
		sl.gen = 1
	}
	e.free = append(e.free, idx)
}

// queueLocked puts a prepared slot into the SQ ring, or into the Go-side FIFO when the ring
// is full or the in-flight bound is reached (FIFO order is kept). Cancel requests jump the
// queue and have their own headroom: user operations may fill only half the CQ, so a
// cancel can always be submitted even when every user slot is stuck in the kernel.
func (e *Engine) queueLocked(idx uint32) {
	sl := &e.slots[idx]
	if sl.intern {
		if e.inKernel < e.maxInKernel && e.ring.Queue(&sl.sqe) {
			sl.state = slotSubmitted
			e.inKernel++
			return
		}
		sl.state = slotQueued
		e.pending = append(e.pending, 0)
		copy(e.pending[1:], e.pending)
		e.pending[0] = idx
		return
	}
	if len(e.pending) == 0 && e.userInKernel < e.maxUser && e.inKernel < e.maxInKernel && e.ring.Queue(&sl.sqe) {
		sl.state = slotSubmitted
		e.inKernel++
		e.userInKernel++
		return
	}
	sl.state = slotQueued
	e.pending = append(e.pending, idx)
}

func (e *Engine) movePendingLocked() {
	n := 0
	for n < len(e.pending) && e.inKernel < e.maxInKernel {
		idx := e.pending[n]
		sl := &e.slots[idx]
		if !sl.intern && e.userInKernel >= e.maxUser {
			break
		}
		if !e.ring.Queue(&sl.sqe) {
			break
		}
		sl.state = slotSubmitted
		e.inKernel++
		if !sl.intern {
			e.userInKernel++
		}
		n++
	}
	if n > 0 {
		e.pending = e.pending[:copy(e.pending, e.pending[n:])]
	}
}

// claimFlushLocked elects the caller as flusher unless one is already running; a running
// flusher picks up whatever was queued meanwhile, which is what batches submissions.
func (e *Engine) claimFlushLocked() bool {
	if e.flushing || e.dead {
		return false
	}
	e.flushing = true
	return true
}

// flush publishes queued SQEs and submits them with io_uring_enter, looping until nothing
// is left, so submitters that arrive during a syscall ride along in the next one.
func (e *Engine) flush(inReaper bool) { e.flushN(inReaper, false) }

// flushChunk bounds one io_uring_enter when the flusher also reaps (Flush): page-cache
// reads are done inside the syscall, so a big batch would hold every completion back
// until its last read; chunks let waiters resume, and submit more, while the rest of the
// batch is still being read.
const flushChunk = 32

func (e *Engine) flushN(inReaper, reapEach bool) {
	// Muting happens while this goroutine owns the flush, which also keeps release from
	// unmapping the rings under it; unmuting happens in endFlushLocked, before that
	// ownership is given up.
	muted := reapEach && e.ring.SetEventfdEnabled(false)
	yielded := false
	last := 0 // SQEs the previous io_uring_enter carried, noted under the next lock
	for {
		e.mu.Lock()
		if last > 0 {
			e.noteEnterLocked(last)
			last = 0
		}
		e.movePendingLocked()
		n := e.ring.Publish()
		if n == 0 && reapEach && !yielded {
			// Before giving the flush up, let the goroutines its completions woke run
			// on this P (they wait in its run queue): they usually submit again at once,
			// and their SQEs then ride in this flush instead of waking the flusher anew.
			e.mu.Unlock()
			yielded = true
			runtime.Gosched()
			continue
		}
		if n == 0 {
			e.endFlushLocked(muted)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		if reapEach {
			n = min(n, flushChunk)
		}
		got, err := e.ring.Enter(n, 0, 0)
		e.enters.Add(1)
		switch {
		case err == nil:
			e.submitted.Add(uint64(got))
			if reapEach {
				last = got
			}
			if reapEach && e.tryReap() > 0 {
				// The waiters just woken sit in this P's run queue (runnext) and would
				// wait there for the whole next io_uring_enter: yield, so that they
				// run now and this flusher, back in the global queue, is taken by the
				// idle P their wake-up started. Consumers and the kernel then overlap.
				runtime.Gosched()
				yielded = true
			} else if reapEach {
				yielded = false
			}
		case err == unix.EAGAIN || err == unix.EBUSY:
			// The kernel is short of request memory or holds overflowed CQEs: make
			// room by reaping, unless we are the reaper, whose loop will come back.
			if inReaper {
				e.mu.Lock()
				e.endFlushLocked(muted)
				e.mu.Unlock()
				return
			}
			if e.tryReap() == 0 {
				runtime.Gosched()
			}
		default:
			e.failUnconsumed(err)
		}
	}
}

// noteEnterLocked switches inline submission on after inlineAfter io_uring_enter calls
// of Flush in a row that carried one SQE each, and off after one that carried more.
func (e *Engine) noteEnterLocked(got int) {
	if e.inlineMax == 0 {
		return
	}
	if got > 1 {
		e.inlineMode, e.singles = false, 0
		return
	}
	if e.singles++; e.singles >= inlineAfter {
		e.inlineMode = true
	}
}

func (e *Engine) endFlushLocked(muted bool) {
	if muted {
		e.ring.SetEventfdEnabled(true)
	}
	e.flushing = false
	e.flushSched = false // under the same lock as the final empty Publish: nothing is lost
}

// failUnconsumed completes with err every SQE the kernel refused wholesale.
func (e *Engine) failUnconsumed(err error) {
	errno, _ := err.(unix.Errno)
	if errno == 0 {
		errno = unix.EIO
	}
	e.mu.Lock()
	var done []doneItem
	for _, ud := range e.ring.Unconsumed() {
		idx, gen := uint32(ud), uint32(ud>>32)
		if int(idx) >= len(e.slots) || e.slots[idx].gen != gen {
			continue
		}
		done = append(done, doneItem{c: e.slots[idx].c, res: -int32(errno)})
		e.inKernel--
		if !e.slots[idx].intern {
			e.userInKernel--
		}
		e.releaseLocked(idx)
	}
	e.mu.Unlock()
	for _, d := range done {
		if d.c != nil {
			d.c.Complete(d.res, 0)
		}
	}
}

func (e *Engine) submit(s *SQE, buf []byte, aux any, c Completion) (Ticket, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return 0, ErrClosed
	}
	idx := e.allocLocked()
	sl := &e.slots[idx]
	sl.c, sl.buf, sl.aux = c, buf, aux
	s.UserData = userData(idx, sl.gen)
	sl.sqe = *s
	inline := e.inlineMode && buf != nil && len(buf) <= e.inlineMax && e.inKernel == 0 &&
		len(e.pending) == 0 && !e.flushing && !e.flushSched && e.ring.Queued() == 0
	e.queueLocked(idx)
	if inline {
		e.inlineSeq++
		if e.inlineSeq%inlineProbe != 0 && e.claimFlushLocked() {
			e.mu.Unlock()
			e.flushInline()
			return Ticket(s.UserData), nil
		}
	}
	if e.deferFn != nil {
		sched := !e.flushSched
		e.flushSched = true
		e.mu.Unlock()
		if sched {
			if err := e.deferFn(); err != nil {
				e.mu.Lock()
				e.flushSched = false
				flush := e.claimFlushLocked()
				e.mu.Unlock()
				if flush {
					e.flush(false)
				}
			}
		}
		return Ticket(s.UserData), nil
	}
	flush := e.claimFlushLocked()
	e.mu.Unlock()
	if flush {
		e.flush(false)
	}
	return Ticket(s.UserData), nil
}

// Flush submits everything queued in one io_uring_enter and reaps what completed during
// it (page-cache reads complete inside the syscall). It is the other half of
// Config.Defer, run by the loop that Defer scheduled it on. The eventfd is muted for the
// duration: the completions it would announce are reaped right here, so the loop is not
// woken again for them; anything posted meanwhile is caught by the reap after unmuting.
func (e *Engine) Flush() {
	e.mu.Lock()
	flush := e.claimFlushLocked()
	if !flush {
		// Another flusher is running and will publish what is queued.
		e.flushSched = false
	}
	e.mu.Unlock()
	if flush {
		// flushSched stays set while this runs, so submitters that arrive meanwhile
		// (often the waiters this flush just woke) only queue: the loop below takes
		// their SQEs without another goroutine being started.
		e.flushN(false, true)
	}
	// Anything posted while the eventfd was muted, and whatever a concurrent flusher
	// left behind, is reaped here (a no-op once the engine is released).
	e.Reap()
}

// flushInline is a flush owned by a submitter (InlineMax): it enters what is queued and
// reaps at once, on this thread, what completed inside the syscall, with the eventfd
// muted as in Flush.
func (e *Engine) flushInline() {
	muted := e.ring.SetEventfdEnabled(false)
	for {
		e.mu.Lock()
		e.movePendingLocked()
		n := e.ring.Publish()
		if n == 0 {
			e.endFlushLocked(muted)
			e.mu.Unlock()
			break
		}
		e.mu.Unlock()
		got, err := e.ring.Enter(n, 0, 0)
		e.enters.Add(1)
		switch {
		case err == nil:
			e.submitted.Add(uint64(got))
		case err == unix.EAGAIN || err == unix.EBUSY:
			if e.tryReap() == 0 {
				runtime.Gosched()
			}
		default:
			e.failUnconsumed(err)
		}
	}
	// The eventfd is live again, so only what was posted while it was muted needs a
	// reaper here. If another goroutine holds reapMu it may be past its last look at
	// the ring, and Reap cannot wait for it (the caller may itself be a Completion,
	// under reapMu further up its stack), so the flusher is asked to reap instead.
	if e.reapMu.TryLock() {
		e.reapLocked()
		e.reapMu.Unlock()
		return
	}
	e.mu.Lock()
	// Under mu with dead unset, release has not unmapped the ring (it sets dead first).
	if e.dead || e.ring.CQReady() == 0 {
		e.mu.Unlock()
		return
	}
	sched := !e.flushSched
	e.flushSched = true
	e.mu.Unlock()
	if sched && e.deferFn() != nil {
		e.mu.Lock()
		e.flushSched = false
		e.mu.Unlock()
	}
}

func bufAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// Nop submits IORING_OP_NOP (tests, wake-ups).
func (e *Engine) Nop(c Completion) (Ticket, error) {
	return e.submit(&SQE{Opcode: OpNop}, nil, nil, c)
}

// Read reads into buf at off (-1: the file position). The result may be short; buf must
// not be touched until c runs.
func (e *Engine) Read(fd int, buf []byte, off int64, c Completion) (Ticket, error) {
	if len(buf) > MaxIO {
		buf = buf[:MaxIO]
	}
	return e.submit(&SQE{Opcode: OpRead, Fd: int32(fd), Off: uint64(off), Addr: bufAddr(buf), Len: uint32(len(buf))}, buf, nil, c)
}

// Write writes buf at off (-1: the file position, O_APPEND honoured).
func (e *Engine) Write(fd int, buf []byte, off int64, c Completion) (Ticket, error) {
	if len(buf) > MaxIO {
		buf = buf[:MaxIO]
	}
	return e.submit(&SQE{Opcode: OpWrite, Fd: int32(fd), Off: uint64(off), Addr: bufAddr(buf), Len: uint32(len(buf))}, buf, nil, c)
}

// RegisterFile puts fd in a free slot of the ring's registered-file table and returns the
// slot, for ReadFixed and WriteFixed; false when the table is full or unsupported. The
// ring holds its own reference to the file until UnregisterFile.
func (e *Engine) RegisterFile(fd int) (int, bool) {
	e.mu.Lock()
	n := len(e.fileFree)
	if n == 0 || e.closed || e.dead {
		e.mu.Unlock()
		return -1, false
	}
	slot := e.fileFree[n-1]
	e.fileFree = e.fileFree[:n-1]
	e.mu.Unlock()
	e.regMu.Lock()
	err := errors.New("released")
	if !e.regDead {
		err = e.ring.UpdateFile(slot, int32(fd))
	}
	e.regMu.Unlock()
	if err != nil {
		e.mu.Lock()
		e.fileFree = append(e.fileFree, slot)
		e.mu.Unlock()
		return -1, false
	}
	return int(slot), true
}

// UnregisterFile empties a slot from RegisterFile. Operations already submitted through
// it keep their file; later ones must not name the slot.
func (e *Engine) UnregisterFile(slot int) {
	e.regMu.Lock()
	if !e.regDead {
		e.ring.UpdateFile(uint32(slot), -1)
	}
	e.regMu.Unlock()
	e.mu.Lock()
	e.fileFree = append(e.fileFree, uint32(slot))
	e.mu.Unlock()
}

// ReadFixed is Read through a registered-file slot.
func (e *Engine) ReadFixed(slot int, buf []byte, off int64, c Completion) (Ticket, error) {
	if len(buf) > MaxIO {
		buf = buf[:MaxIO]
	}
	return e.submit(&SQE{Opcode: OpRead, Flags: sqeFixedFile, Fd: int32(slot), Off: uint64(off), Addr: bufAddr(buf), Len: uint32(len(buf))}, buf, nil, c)
}

// WriteFixed is Write through a registered-file slot.
func (e *Engine) WriteFixed(slot int, buf []byte, off int64, c Completion) (Ticket, error) {
	if len(buf) > MaxIO {
		buf = buf[:MaxIO]
	}
	return e.submit(&SQE{Opcode: OpWrite, Flags: sqeFixedFile, Fd: int32(slot), Off: uint64(off), Addr: bufAddr(buf), Len: uint32(len(buf))}, buf, nil, c)
}

// Fsync flushes fd (flags: FsyncDatasync or 0).
func (e *Engine) Fsync(fd int, flags uint32, c Completion) (Ticket, error) {
	return e.submit(&SQE{Opcode: OpFsync, Fd: int32(fd), OpFlags: flags}, nil, nil, c)
}

func (e *Engine) need(op uint8) error {
	if !e.ring.Supports(op) {
		return fmt.Errorf("%w: %d", ErrOpUnsupported, op)
	}
	return nil
}

// Openat opens path relative to dirfd; res is the new fd.
func (e *Engine) Openat(dirfd int, path string, flags int, mode uint32, c Completion) (Ticket, error) {
	if err := e.need(OpOpenat); err != nil {
		return 0, err
	}
	p, err := unix.ByteSliceFromString(path)
	if err != nil {
		return 0, err
	}
	return e.submit(&SQE{Opcode: OpOpenat, Fd: int32(dirfd), Addr: bufAddr(p), Len: mode, OpFlags: uint32(flags)}, nil, p, c)
}

// CloseFd closes fd.
func (e *Engine) CloseFd(fd int, c Completion) (Ticket, error) {
	if err := e.need(OpClose); err != nil {
		return 0, err
	}
	return e.submit(&SQE{Opcode: OpClose, Fd: int32(fd)}, nil, nil, c)
}

// Statx fills stx for path relative to dirfd (path "" with AT_EMPTY_PATH: dirfd itself).
func (e *Engine) Statx(dirfd int, path string, flags int, mask uint32, stx *unix.Statx_t, c Completion) (Ticket, error) {
	if err := e.need(OpStatx); err != nil {
		return 0, err
	}
	p, err := unix.ByteSliceFromString(path)
	if err != nil {
		return 0, err
	}
	aux := &statxPin{path: p, stx: stx}
	return e.submit(&SQE{Opcode: OpStatx, Fd: int32(dirfd), Addr: bufAddr(p), Len: mask, OpFlags: uint32(flags),
		Off: uint64(uintptr(unsafe.Pointer(stx)))}, nil, aux, c)
}

type statxPin struct {
	path []byte
	stx  *unix.Statx_t
}

// Cancel asks the kernel to cancel t with IORING_OP_ASYNC_CANCEL. It never completes t
// itself while the kernel owns it: t's Completion still runs exactly once, with
// -ECANCELED or with the result that beat the cancel, and only then is its buffer
// released. An operation still waiting on the Go side is completed with -ECANCELED at
// once. Cancelling twice is harmless; ErrNotInFlight means t already completed.
func (e *Engine) Cancel(t Ticket) error {
	idx, gen := uint32(t), uint32(uint64(t)>>32)
	e.mu.Lock()
	if e.dead || int(idx) >= len(e.slots) || e.slots[idx].gen != gen || e.slots[idx].state == slotFree || t == 0 {
		e.mu.Unlock()
		return ErrNotInFlight
	}
	sl := &e.slots[idx]
	switch {
	case sl.state == slotQueued:
		for i, p := range e.pending {
			if p == idx {
				e.pending = append(e.pending[:i], e.pending[i+1:]...)
				break
			}
		}
		c := sl.c
		e.releaseLocked(idx)
		e.mu.Unlock()
		if c != nil {
			c.Complete(-int32(unix.ECANCELED), 0)
		}
		return nil
	case sl.cancel:
		e.mu.Unlock()
		return nil
	}
	e.queueCancelLocked(idx)
	flush := e.claimFlushLocked()
	e.mu.Unlock()
	if flush {
		e.flush(false)
	}
	return nil
}

func (e *Engine) queueCancelLocked(target uint32) {
	sl := &e.slots[target]
	sl.cancel = true
	ud := userData(target, sl.gen)
	ci := e.allocLocked()
	cs := &e.slots[ci]
	cs.intern = true
	cs.sqe = SQE{Opcode: OpAsyncCancel, Fd: -1, Addr: ud, UserData: userData(ci, cs.gen)}
	e.cancels.Add(1)
	e.queueLocked(ci)
}

// Reap delivers every available completion and returns how many CQEs it consumed. One
// reaper runs at a time; completions run on the calling goroutine.
func (e *Engine) Reap() int {
	e.reapMu.Lock()
	defer e.reapMu.Unlock()
	return e.reapLocked()
}

// tryReap reaps unless another goroutine is reaping (possibly the caller itself, further
// up the stack: a Completion that submits, and so flushes, runs under reapMu).
func (e *Engine) tryReap() int {
	if !e.reapMu.TryLock() {
		return 0
	}
	defer e.reapMu.Unlock()
	return e.reapLocked()
}

func (e *Engine) reapLocked() int {
	if e.released {
		return 0
	}
	total := 0
	for {
		n := e.ring.Reap(e.cqeBuf)
		if n == 0 {
			return total
		}
		total += n
		e.mu.Lock()
		for _, cqe := range e.cqeBuf[:n] {
			idx, gen := uint32(cqe.UserData), uint32(cqe.UserData>>32)
			if int(idx) >= len(e.slots) || e.slots[idx].gen != gen || e.slots[idx].state != slotSubmitted {
				continue // cannot happen unless the ring is shared; never touch a live slot
			}
			if !e.slots[idx].intern {
				e.done = append(e.done, doneItem{c: e.slots[idx].c, res: cqe.Res, flags: cqe.Flags})
				e.userInKernel--
			}
			e.inKernel--
			e.releaseLocked(idx)
		}
		flush := len(e.pending) > 0 && e.claimFlushLocked()
		e.mu.Unlock()
		e.completed.Add(uint64(n))
		for i := range e.done {
			if e.done[i].c != nil {
				e.done[i].c.Complete(e.done[i].res, e.done[i].flags)
			}
			e.done[i] = doneItem{}
		}
		e.done = e.done[:0]
		if flush {
			e.flush(true)
		}
	}
}

// InFlight is the number of operations not yet completed (queued or in the kernel).
func (e *Engine) InFlight() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inKernel + len(e.pending)
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{
		Submitted: e.submitted.Load(), Completed: e.completed.Load(),
		Enters: e.enters.Load(), Cancels: e.cancels.Load(), InFlight: e.InFlight(),
	}
}

// Close refuses new work, cancels everything in flight and waits until the kernel has
// returned every operation (so no buffer is still being written), then tears the ring
// down. A watcher of EventFd must stop watching before Close returns (Close closes it);
// use Shutdown first when that ordering matters.
func (e *Engine) Close() error {
	e.Shutdown()
	return e.release()
}

// Shutdown is the first half of Close: refuse new submissions, cancel and drain every
// operation. The eventfd stays open, so a loop may keep watching until it unwatches.
func (e *Engine) Shutdown() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.drain()
		return
	}
	e.closed = true
	var done []doneItem
	for _, idx := range e.pending {
		if e.slots[idx].intern {
			continue
		}
		done = append(done, doneItem{c: e.slots[idx].c, res: -int32(unix.ECANCELED)})
		e.releaseLocked(idx)
	}
	keep := e.pending[:0]
	for _, idx := range e.pending {
		if e.slots[idx].state == slotQueued {
			keep = append(keep, idx)
		}
	}
	e.pending = keep
	for i := range e.slots {
		if sl := &e.slots[i]; sl.state == slotSubmitted && !sl.intern && !sl.cancel {
			e.queueCancelLocked(uint32(i))
		}
	}
	flush := e.claimFlushLocked()
	e.mu.Unlock()
	for _, d := range done {
		if d.c != nil {
			d.c.Complete(d.res, 0)
		}
	}
	if flush {
		e.flush(false)
	}
	e.drain()
}

func (e *Engine) drain() {
	for {
		e.Reap()
		if e.InFlight() == 0 {
			return
		}
		if e.ring.HasExtArg() {
			e.ring.WaitTimeout(int64(10 * time.Millisecond))
		} else {
			time.Sleep(time.Millisecond)
		}
		e.mu.Lock()
		flush := len(e.pending) > 0 && e.claimFlushLocked()
		e.mu.Unlock()
		if flush {
			e.flush(false)
		}
	}
}

func (e *Engine) release() error {
	e.relOnce.Do(func() {
		// A late flush (a Defer'd Flush that runs after Shutdown) must not touch the
		// rings once they are unmapped: wait for the current flusher, then bar others.
		for {
			e.mu.Lock()
			if !e.flushing {
				e.dead = true
				e.mu.Unlock()
				break
			}
			e.mu.Unlock()
			runtime.Gosched()
		}
		// The reaper may sit in Reap, so it is stopped before reapMu is taken.
		if e.efdFile != nil {
			e.efdFile.Close()
			<-e.reaperDone
		}
		e.regMu.Lock()
		e.regDead = true
		e.regMu.Unlock()
		e.reapMu.Lock()
		defer e.reapMu.Unlock()
		e.ring.UnregisterEventfd()
		if e.efdFile == nil {
			unix.Close(e.efd)
		}
		e.efd = -1
		e.released = true
		e.relErr = e.ring.Close()
	})
	return e.relErr
}

// Release finishes what Shutdown began: closes the eventfd and the ring.
func (e *Engine) Release() error { return e.release() }
