package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftrt/weft/fs/internal/uring"
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/task"
)

// uringDriver spreads operations over a few rings (one per reactor loop by default).
// A ring executes page-cache reads inside io_uring_enter under a per-ring kernel lock, so
// one ring is one core's worth of reads; several let every core work.
//
// Submissions are batched: the first operation queued on an idle ring wakes the ring's
// flusher goroutine, and everything queued before it runs goes in the same
// io_uring_enter (in chunks of 32, reaping between them, so waiters resume early). The
// flusher reaps what completed inside the syscall (page-cache hits) at once, with the
// ring's eventfd muted, so such reads cost no further wake-up. Operations the kernel
// finishes later (cold reads on io-wq, pipes) post their CQE and signal the eventfd, which
// a reactor loop watches (Loop.Watch): that loop turn reaps them, beside its sockets.
// Without a reactor each ring parks a reaper goroutine on its eventfd in Go's netpoller.
// Either way completions only ever Complete a future: no user code runs on the loop.
// A submitter that waits for each operation has nothing to batch with; the engine
// notices (its flushes carry one SQE each) and lets it enter small reads and writes
// itself (uring.Config.InlineMax).
type uringDriver struct {
	ex    task.Executor
	rings []*ringCtx
	next  atomic.Uint32
}

type ringCtx struct {
	eng  *uring.Engine
	loop *reactor.Loop

	// kick wakes the ring's flusher goroutine; a parked goroutine woken through a
	// channel costs no allocation, where starting one per batch would.
	kick    chan struct{}
	stop    chan struct{}
	stopped chan struct{}

	// Counted for the benchmark's per-op figures: how often each wake-up path ran.
	kicks, events atomic.Uint64
}

func (rc *ringCtx) flusher() {
	defer close(rc.stopped)
	for {
		select {
		case <-rc.kick:
			rc.kicks.Add(1)
			rc.eng.Flush()
		case <-rc.stop:
			return
		}
	}
}

func newURingDriver(ex task.Executor, cfg *config) (driver, error) {
	var loops []*reactor.Loop
	switch {
	case cfg.loop != nil:
		loops = []*reactor.Loop{cfg.loop}
	case !cfg.noReactor:
		if rh, ok := ex.(reactorHolder); ok {
			if g := rh.Reactor(); g != nil {
				loops = g.Loops()
			}
		}
	}
	n := cfg.rings
	if n <= 0 {
		n = max(1, len(loops), min(runtime.GOMAXPROCS(0), 4))
	}
	d := &uringDriver{ex: ex}
	for i := range n {
		rc := &ringCtx{kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
		if len(loops) > 0 {
			rc.loop = loops[i%len(loops)]
		}
		ucfg := uring.Config{Entries: cfg.entries, OwnReaper: rc.loop == nil, InlineMax: inlineMax,
			Defer: func() error {
				select {
				case rc.kick <- struct{}{}:
				default: // a kick is already pending
				}
				return nil
			}}
		eng, err := uring.New(ucfg)
		if err != nil {
			d.closeAll()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		rc.eng = eng
		go rc.flusher()
		if rc.loop != nil {
			// Level-triggered EPOLLIN: the handler drains the eventfd and reaps every
			// CQE, and a wake-up that races the drain is simply reported again.
			if err := onLoop(rc.loop, func() error { return rc.loop.Watch(eng.EventFd(), unix.EPOLLIN, rc.onEvent) }); err != nil {
				close(rc.stop)
				<-rc.stopped
				eng.Close()
				d.closeAll()
				return nil, fmt.Errorf("fs: watching the ring's eventfd: %w", err)
			}
		}
		d.rings = append(d.rings, rc)
	}
	return d, nil
}

func (d *uringDriver) closeAll() {
	d.shutdown()
	d.release()
}

// pick spreads operations over the rings round-robin.
func (d *uringDriver) pick() *uring.Engine { return d.rings[d.pickIdx()].eng }

func (d *uringDriver) pickIdx() int {
	if len(d.rings) == 1 {
		return 0
	}
	return int(d.next.Add(1) % uint32(len(d.rings)))
}

// inlineMax bounds the read or write a submitter may enter itself (uring.Config.InlineMax):
// a 64 KiB page-cache copy takes a few microseconds, which even a reactor loop can spend.
const inlineMax = 64 << 10

// fixedAfter is how many reads and writes a file sees before it is registered with the
// rings: registering costs a syscall per ring at open and at close, which a file read
// once or twice (a small static file) would never earn back.
const fixedAfter = 16

// slotFor returns f's registered slot in ring i, registering f once it has earned it; -1
// means the plain fd.
func (d *uringDriver) slotFor(f *File, i int) int32 {
	if f.fixedDone.Load() {
		return f.fixed[i]
	}
	if f.nops.Add(1) < fixedAfter || !f.fixedBusy.CompareAndSwap(false, true) {
		return -1
	}
	// Only this goroutine gets here, once per file, holding a reference to it (so Close
	// cannot run meanwhile). fixedBusy stays set: a file that failed is not retried.
	slots := make([]int32, len(d.rings))
	for j, rc := range d.rings {
		s, ok := rc.eng.RegisterFile(f.fd)
		if !ok {
			for k := range j {
				d.rings[k].eng.UnregisterFile(int(slots[k]))
			}
			return -1
		}
		slots[j] = int32(s)
	}
	f.fixed = slots
	f.fixedDone.Store(true)
	return slots[i]
}

// unregister empties f's slots; the caller makes sure no operation of f is in flight or
// on its way (File.Close waits for them).
func (d *uringDriver) unregister(f *File) {
	if !f.fixedDone.Load() {
		return
	}
	f.fixedDone.Store(false)
	for i, rc := range d.rings {
		rc.eng.UnregisterFile(int(f.fixed[i]))
	}
	f.fixed = nil
}

// onLoop runs fn on l and waits for its result.
func onLoop(l *reactor.Loop, fn func() error) error {
	if l.InLoop() {
		return fn()
	}
	ch := make(chan error, 1)
	if err := l.Submit(func() { ch <- fn() }); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("fs: reactor loop did not respond")
	}
}

func (rc *ringCtx) onEvent(uint32) {
	rc.events.Add(1)
	rc.eng.DrainEventfd()
	rc.eng.Reap()
}

func (d *uringDriver) shutdown() {
	for _, rc := range d.rings {
		rc.eng.Shutdown()
	}
}

func (d *uringDriver) release() error {
	var first error
	for _, rc := range d.rings {
		if rc.loop != nil {
			// ErrClosed here means the loop has stopped and its epoll set is gone.
			if err := onLoop(rc.loop, func() error { return rc.loop.Unwatch(rc.eng.EventFd()) }); err != nil &&
				!errors.Is(err, reactor.ErrClosed) && first == nil {
				first = err
			}
		}
		close(rc.stop)
		<-rc.stopped
		if err := rc.eng.Release(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func engErr(err error) error {
	if errors.Is(err, uring.ErrClosed) {
		return ErrClosed
	}
	return err
}

func errno(res int32) error { return syscall.Errno(-res) }

// openOp completes an OPENAT.
type openOp struct {
	fsys   *FS
	name   string
	append bool
	fut    *task.Future[*File]
}

func (o *openOp) Complete(res int32, _ uint32) {
	if res < 0 {
		o.fut.Complete(nil, &os.PathError{Op: "open", Path: o.name, Err: errno(res)})
		return
	}
	f := &File{fsys: o.fsys, name: o.name, fd: int(res), appendMode: o.append}
	if !o.fsys.track(f) {
		unix.Close(int(res))
		o.fut.Complete(nil, &os.PathError{Op: "open", Path: o.name, Err: ErrClosed})
		return
	}
	o.fut.Complete(f, nil)
}

func (d *uringDriver) open(fsys *FS, name string, flag int, perm uint32, fut *task.Future[*File]) {
	op := &openOp{fsys: fsys, name: name, append: flag&os.O_APPEND != 0, fut: fut}
	if _, err := d.pick().Openat(unix.AT_FDCWD, name, flag|unix.O_CLOEXEC, perm, op); err != nil {
		fut.Complete(nil, &os.PathError{Op: "open", Path: name, Err: engErr(err)})
	}
}

func (d *uringDriver) rw(op *rwOp) {
	i := d.pickIdx()
	eng := d.rings[i].eng
	op.eng = eng // fixed for the op's life: resubmissions and the canceller use it
	op.slot = d.slotFor(op.f, i)
	if op.ctx != nil && op.stop == nil && op.ctx.Done() != nil {
		op.stop = context.AfterFunc(op.ctx, func() {
			op.cancelled.Store(true)
			if t := op.ticket.Load(); t != 0 {
				eng.Cancel(uring.Ticket(t))
			}
		})
	}
	submitRW(op)
}

// submit sends the rest of op (all of it the first time, the remainder after a short
// transfer). The ticket is published for the canceller with a CAS, so a completion that
// already resubmitted (and stored a newer ticket) is never overwritten by a stale one;
// checking cancelled after publishing closes the race with a cancel that found no ticket.
func submitRW(op *rwOp) {
	// Read before submitting: once submitted, op may complete (and, without a context,
	// be recycled) on the reaping goroutine at any moment.
	hasCtx := op.ctx != nil
	prev := op.ticket.Load()
	p, off := op.p[op.done:], op.off+int64(op.done)
	if op.kind == kWrite && op.f.appendMode {
		off = -1 // the file position, which O_APPEND moves to the end
	}
	var t uring.Ticket
	var err error
	switch {
	case op.slot >= 0 && op.kind.write():
		t, err = op.eng.WriteFixed(int(op.slot), p, off, op)
	case op.slot >= 0:
		t, err = op.eng.ReadFixed(int(op.slot), p, off, op)
	case op.kind.write():
		t, err = op.eng.Write(op.f.fd, p, off, op)
	default:
		t, err = op.eng.Read(op.f.fd, p, off, op)
	}
	if err != nil {
		op.finish(engErr(err))
		return
	}
	if hasCtx && op.ticket.CompareAndSwap(prev, uint64(t)) && op.cancelled.Load() {
		op.eng.Cancel(t)
	}
}

// Complete is the CQE of one read or write submission of op.
func (op *rwOp) Complete(res int32, _ uint32) {
	switch {
	case res < 0:
		op.finish(errno(res))
	case res == 0:
		if op.kind.write() {
			op.finish(io.ErrShortWrite)
		} else {
			op.finish(io.EOF)
		}
	default:
		op.done += int(res)
		if op.done == len(op.p) || op.kind == kRead {
			op.finish(nil)
			return
		}
		if op.cancelled.Load() {
			op.finish(op.ctx.Err())
			return
		}
		submitRW(op)
	}
}

// unitOp completes a Future[struct{}] (fsync, close) and runs an optional hook first.
type unitOp struct {
	f    *File
	op   string
	fut  *task.Future[struct{}]
	then func()
}

func (o *unitOp) Complete(res int32, _ uint32) {
	if o.then != nil {
		o.then()
	}
	var err error
	if res < 0 {
		err = o.f.pathErr(o.op, errno(res))
	}
	o.fut.Complete(struct{}{}, err)
}

func (d *uringDriver) sync(f *File, fut *task.Future[struct{}]) {
	if _, err := d.pick().Fsync(f.fd, 0, &unitOp{f: f, op: "sync", fut: fut, then: f.releaseRef}); err != nil {
		f.releaseRef()
		fut.Complete(struct{}{}, f.pathErr("sync", engErr(err)))
	}
}

func (d *uringDriver) closeFile(f *File, fut *task.Future[struct{}]) {
	d.unregister(f)
	if _, err := d.pick().CloseFd(f.fd, &unitOp{f: f, op: "close", fut: fut, then: func() { f.fsys.untrack(f) }}); err != nil {
		// The ring is shutting down; close(2) on a file does not block.
		cerr := closeFd(f.fd)
		f.fsys.untrack(f)
		fut.Complete(struct{}{}, f.pathErr("close", cerr))
	}
}

// statOp completes a STATX into its own buffer, which the engine keeps referenced.
type statOp struct {
	name string
	stx  unix.Statx_t
	fut  *task.Future[os.FileInfo]
	then func()
}

func (o *statOp) Complete(res int32, _ uint32) {
	if o.then != nil {
		o.then()
	}
	if res < 0 {
		o.fut.Complete(nil, &os.PathError{Op: "stat", Path: o.name, Err: errno(res)})
		return
	}
	o.fut.Complete(statxInfo(baseName(o.name), &o.stx), nil)
}

const statxMask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_SIZE | unix.STATX_MTIME

func (d *uringDriver) stat(f *File, fut *task.Future[os.FileInfo]) {
	o := &statOp{name: f.name, fut: fut, then: f.releaseRef}
	if _, err := d.pick().Statx(f.fd, "", unix.AT_EMPTY_PATH, statxMask, &o.stx, o); err != nil {
		f.releaseRef()
		fut.Complete(nil, f.pathErr("stat", engErr(err)))
	}
}

func (d *uringDriver) statPath(name string, fut *task.Future[os.FileInfo]) {
	o := &statOp{name: name, fut: fut}
	if _, err := d.pick().Statx(unix.AT_FDCWD, name, 0, statxMask, &o.stx, o); err != nil {
		fut.Complete(nil, &os.PathError{Op: "stat", Path: name, Err: engErr(err)})
	}
}

func statxInfo(name string, s *unix.Statx_t) *fileInfo {
	mode := os.FileMode(s.Mode & 0o777)
	switch uint32(s.Mode) & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	}
	if s.Mode&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if s.Mode&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if s.Mode&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	st := *s
	return &fileInfo{
		name:    name,
		size:    int64(s.Size),
		mode:    mode,
		modTime: time.Unix(s.Mtime.Sec, int64(s.Mtime.Nsec)),
		sys:     &st,
	}
}

func closeFd(fd int) error { return unix.Close(fd) }

func (d *uringDriver) inFlight() int {
	n := 0
	for _, rc := range d.rings {
		n += rc.eng.InFlight()
	}
	return n
}

// counters sums, over the rings, io_uring_enter calls, flusher wake-ups and eventfd
// callbacks on a loop.
func (d *uringDriver) counters() (enters, kicks, events uint64) {
	for _, rc := range d.rings {
		enters += rc.eng.Stats().Enters
		kicks += rc.kicks.Load()
		events += rc.events.Load()
	}
	return
}

func (d *uringDriver) watchedByLoop() bool { return d.rings[0].loop != nil }

type ringEngine = *uring.Engine
