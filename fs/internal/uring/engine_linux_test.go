package uring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type result struct {
	res   int32
	flags uint32
}

// chanC delivers one completion on a buffered channel and counts deliveries so a double
// completion fails the test.
type chanC struct {
	ch chan result
	n  atomic.Int32
}

func newC() *chanC { return &chanC{ch: make(chan result, 1)} }

func (c *chanC) Complete(res int32, flags uint32) {
	if c.n.Add(1) == 1 {
		c.ch <- result{res, flags}
	}
}

func (c *chanC) wait(t *testing.T) int32 {
	t.Helper()
	select {
	case r := <-c.ch:
		return r.res
	case <-time.After(10 * time.Second):
		t.Fatal("completion did not arrive")
		return 0
	}
}

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Skipf("io_uring unavailable here (kernel.io_uring_disabled=%d): %v", DisabledBySysctl(), err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func TestAvailability(t *testing.T) {
	r, err := NewRing(8)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.Close()
	t.Logf("kernel.io_uring_disabled=%d sq=%d cq=%d extarg=%v", DisabledBySysctl(), r.SQEntries(), r.CQEntries(), r.HasExtArg())
	for _, op := range []uint8{OpNop, OpRead, OpWrite, OpFsync, OpOpenat, OpClose, OpStatx, OpAsyncCancel} {
		if !r.Supports(op) {
			t.Errorf("opcode %d not supported", op)
		}
	}
	if r.SQEntries() != 8 || r.CQEntries() != 16 {
		t.Errorf("sizes %d/%d, want 8/16", r.SQEntries(), r.CQEntries())
	}
}

// Raw ring, no Engine: queue, publish, enter, reap by hand.
func TestRingRaw(t *testing.T) {
	r, err := NewRing(4)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	defer r.Close()
	for i := range 4 {
		if !r.Queue(&SQE{Opcode: OpNop, UserData: uint64(100 + i)}) {
			t.Fatalf("queue %d failed", i)
		}
	}
	if r.Queue(&SQE{Opcode: OpNop}) {
		t.Fatal("queued into a full SQ")
	}
	if n := r.Publish(); n != 4 {
		t.Fatalf("published %d", n)
	}
	n, err := r.Enter(4, 4, enterGetEvents)
	if err != nil || n != 4 {
		t.Fatalf("enter = %d, %v", n, err)
	}
	cqes := make([]CQE, 8)
	if got := r.Reap(cqes); got != 4 {
		t.Fatalf("reaped %d", got)
	}
	for i, c := range cqes[:4] {
		if c.UserData != uint64(100+i) || c.Res != 0 {
			t.Errorf("cqe %d = %+v", i, c)
		}
	}
	if r.SQSpace() != 4 || r.CQReady() != 0 {
		t.Errorf("space %d ready %d", r.SQSpace(), r.CQReady())
	}
}

func TestNopBatchedFromManyGoroutines(t *testing.T) {
	e := newEngine(t, Config{Entries: 32, OwnReaper: true})
	const G, N = 8, 500
	var got atomic.Int64
	var wg sync.WaitGroup
	all := make(chan struct{}, G*N)
	for range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range N {
				if _, err := e.Nop(CompletionFunc(func(res int32, _ uint32) {
					if res == 0 {
						got.Add(1)
					}
					all <- struct{}{}
				})); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for range G * N {
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d completed", got.Load(), G*N)
		}
	}
	if got.Load() != G*N {
		t.Fatalf("%d ok", got.Load())
	}
	st := e.Stats()
	t.Logf("stats %+v", st)
	if st.InFlight != 0 || st.Submitted != G*N {
		t.Errorf("stats %+v", st)
	}
}

func TestFileOps(t *testing.T) {
	e := newEngine(t, Config{Entries: 8, OwnReaper: true})
	dir := t.TempDir()
	path := filepath.Join(dir, "f")

	c := newC()
	if _, err := e.Openat(unix.AT_FDCWD, path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600, c); err != nil {
		t.Fatal(err)
	}
	fd := int(c.wait(t))
	if fd < 0 {
		t.Fatalf("openat: %v", errnoOf(int32(fd)))
	}
	data := bytes.Repeat([]byte("weft io_uring "), 1000)
	c = newC()
	e.Write(fd, data, 0, c)
	if n := c.wait(t); int(n) != len(data) {
		t.Fatalf("write = %d", n)
	}
	c = newC()
	e.Fsync(fd, 0, c)
	if r := c.wait(t); r != 0 {
		t.Fatalf("fsync: %v", errnoOf(r))
	}
	var stx unix.Statx_t
	c = newC()
	e.Statx(unix.AT_FDCWD, path, 0, unix.STATX_SIZE, &stx, c)
	if r := c.wait(t); r != 0 || stx.Size != uint64(len(data)) {
		t.Fatalf("statx = %d size %d", r, stx.Size)
	}
	buf := make([]byte, len(data)+10)
	c = newC()
	e.Read(fd, buf, 0, c)
	if n := c.wait(t); int(n) != len(data) || !bytes.Equal(buf[:n], data) {
		t.Fatalf("read = %d", n)
	}
	c = newC()
	e.Read(fd, buf[:10], 5, c)
	if n := c.wait(t); n != 10 || !bytes.Equal(buf[:10], data[5:15]) {
		t.Fatalf("read at 5 = %d %q", n, buf[:10])
	}
	c = newC()
	e.CloseFd(fd, c)
	if r := c.wait(t); r != 0 {
		t.Fatalf("close: %v", errnoOf(r))
	}
	// Bad input: the fd is closed now, the path does not exist, the path has a NUL.
	c = newC()
	e.Read(fd, buf, 0, c)
	if r := c.wait(t); !errors.Is(errnoOf(r), unix.EBADF) {
		t.Errorf("read on closed fd: %v", errnoOf(r))
	}
	c = newC()
	e.Openat(unix.AT_FDCWD, filepath.Join(dir, "missing"), unix.O_RDONLY|unix.O_CLOEXEC, 0, c)
	if r := c.wait(t); !errors.Is(errnoOf(r), unix.ENOENT) {
		t.Errorf("open missing: %v", errnoOf(r))
	}
	if _, err := e.Openat(unix.AT_FDCWD, "a\x00b", unix.O_RDONLY, 0, newC()); err == nil {
		t.Error("path with NUL accepted")
	}
	if e.InFlight() != 0 {
		t.Errorf("in flight %d", e.InFlight())
	}
}

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// A read from an empty pipe stays in the kernel until data or a cancel arrives, which is
// what makes the in-flight and cancellation paths observable.
func TestBufferKeptAliveWhileInFlight(t *testing.T) {
	e := newEngine(t, Config{Entries: 8, OwnReaper: true})
	r, w := pipe(t)
	var collected atomic.Bool
	c := newC()
	var got []byte
	func() {
		buf := make([]byte, 64)
		runtime.AddCleanup(&buf[0], func(*atomic.Bool) { collected.Store(true) }, &collected)
		if _, err := e.Read(r, buf, -1, CompletionFunc(func(res int32, fl uint32) {
			got = buf[:max(res, 0)] // the test's only way back to the buffer
			c.Complete(res, fl)
		})); err != nil {
			t.Fatal(err)
		}
	}()
	for range 5 {
		runtime.GC()
	}
	if collected.Load() {
		t.Fatal("buffer collected while the kernel owned it")
	}
	if _, err := unix.Write(w, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if n := c.wait(t); n != 5 || string(got) != "hello" {
		t.Fatalf("read %d %q", n, got)
	}
}

func TestCancelInFlight(t *testing.T) {
	e := newEngine(t, Config{Entries: 8, OwnReaper: true})
	r, _ := pipe(t)
	c := newC()
	buf := make([]byte, 16)
	tk, err := e.Read(r, buf, -1, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Cancel(tk); err != nil {
		t.Fatal(err)
	}
	if err := e.Cancel(tk); err != nil && !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("second cancel: %v", err)
	}
	if res := c.wait(t); !errors.Is(errnoOf(res), unix.ECANCELED) && !errors.Is(errnoOf(res), unix.EINTR) {
		t.Fatalf("cancelled read = %v", errnoOf(res))
	}
	if err := e.Cancel(tk); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("cancel after completion: %v", err)
	}
	if err := e.Cancel(0); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("cancel zero ticket: %v", err)
	}
	if n := e.InFlight(); n != 0 {
		t.Fatalf("in flight %d", n)
	}
}

// More blocked reads than the CQ can hold: the surplus waits on the Go side, cancels
// work on both sides, and every completion arrives exactly once.
func TestOverCommitAndCancel(t *testing.T) {
	e := newEngine(t, Config{Entries: 2, OwnReaper: true}) // CQ 4: at most 4 in the kernel
	r, _ := pipe(t)
	const N = 20
	cs := make([]*chanC, N)
	ts := make([]Ticket, N)
	for i := range cs {
		cs[i] = newC()
		var err error
		if ts[i], err = e.Read(r, make([]byte, 8), -1, cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.InFlight(); n != N {
		t.Fatalf("in flight %d", n)
	}
	for i := N - 1; i >= 0; i-- {
		if err := e.Cancel(ts[i]); err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
	}
	for i, c := range cs {
		if res := c.wait(t); res >= 0 {
			t.Errorf("op %d = %d", i, res)
		}
	}
	if n := e.InFlight(); n != 0 {
		t.Fatalf("in flight %d", n)
	}
}

// Races completion against cancel under the race detector: each buffer is handed back
// exactly once, and only after its CQE; writes to it after that would be reported.
func TestCancelRacesCompletion(t *testing.T) {
	e := newEngine(t, Config{Entries: 16, OwnReaper: true})
	for round := range 200 {
		r, w := pipe(t)
		buf := make([]byte, 4)
		c := newC()
		tk, err := e.Read(r, buf, -1, c)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); unix.Write(w, []byte("abcd")) }()
		go func() { defer wg.Done(); e.Cancel(tk) }()
		res := c.wait(t)
		wg.Wait()
		switch {
		case res == 4:
			if string(buf) != "abcd" {
				t.Fatalf("round %d: %q", round, buf)
			}
		case errors.Is(errnoOf(res), unix.ECANCELED), errors.Is(errnoOf(res), unix.EINTR):
		default:
			t.Fatalf("round %d: res %d", round, res)
		}
		buf[0] = 'x' // ours again: the race detector would flag a kernel-side handoff bug here
	}
	if n := e.InFlight(); n != 0 {
		t.Fatalf("in flight %d", n)
	}
}

func TestCloseCancelsAndWaits(t *testing.T) {
	e, err := New(Config{Entries: 4, OwnReaper: true})
	if err != nil {
		t.Skip(err)
	}
	r, _ := pipe(t)
	cs := make([]*chanC, 12)
	for i := range cs {
		cs[i] = newC()
		e.Read(r, make([]byte, 8), -1, cs[i])
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		if res := c.wait(t); res >= 0 {
			t.Errorf("op %d = %d after close", i, res)
		}
	}
	if _, err := e.Nop(newC()); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if e.Reap() != 0 {
		t.Fatal("reaped after close")
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// Without its own reaper the engine is driven through the eventfd, as a reactor loop
// drives it: epoll says readable, drain, reap.
func TestEventfdDriven(t *testing.T) {
	e := newEngine(t, Config{Entries: 8})
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, e.EventFd(), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(e.EventFd())}); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("0123456789")
	var done atomic.Int32
	bufs := make([][]byte, 10)
	for i := range bufs {
		bufs[i] = make([]byte, 1)
		e.Read(int(f.Fd()), bufs[i], int64(i), CompletionFunc(func(res int32, _ uint32) {
			if res == 1 {
				done.Add(1)
			}
		}))
	}
	evs := make([]unix.EpollEvent, 1)
	deadline := time.Now().Add(10 * time.Second)
	for done.Load() < 10 && time.Now().Before(deadline) {
		n, err := unix.EpollWait(ep, evs, 1000)
		if err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		if n == 1 {
			e.DrainEventfd()
			e.Reap()
		}
	}
	if done.Load() != 10 {
		t.Fatalf("%d of 10", done.Load())
	}
	for i, b := range bufs {
		if b[0] != byte('0'+i) {
			t.Errorf("buf %d = %q", i, b)
		}
	}
}

// With Defer, submissions wait for Flush and go in one io_uring_enter; completions that
// happened inside it are reaped by Flush itself, without the eventfd firing.
func TestDeferredFlushBatches(t *testing.T) {
	var deferred atomic.Int32
	e := newEngine(t, Config{Entries: 64, Defer: func() error { deferred.Add(1); return nil }})
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("abcdefghijklmnopqrstuvwxyz")
	var done atomic.Int32
	bufs := make([][]byte, 20)
	for i := range bufs {
		bufs[i] = make([]byte, 1)
		if _, err := e.Read(int(f.Fd()), bufs[i], int64(i), CompletionFunc(func(res int32, _ uint32) {
			if res == 1 {
				done.Add(1)
			}
		})); err != nil {
			t.Fatal(err)
		}
	}
	if deferred.Load() != 1 || done.Load() != 0 || e.Stats().Enters != 0 {
		t.Fatalf("before Flush: deferred %d done %d stats %+v", deferred.Load(), done.Load(), e.Stats())
	}
	e.Flush()
	// Page-cache reads complete inside the enter; a slow one would signal the eventfd.
	deadline := time.Now().Add(10 * time.Second)
	for done.Load() < 20 && time.Now().Before(deadline) {
		e.Reap()
		runtime.Gosched()
	}
	if done.Load() != 20 {
		t.Fatalf("%d of 20 completed", done.Load())
	}
	for i, b := range bufs {
		if b[0] != byte('a'+i) {
			t.Fatalf("buf %d = %q", i, b)
		}
	}
	st := e.Stats()
	t.Logf("stats %+v", st)
	if st.Enters > 2 { // 20 SQEs: one chunk, or two if the first enter races the queueing
		t.Errorf("%d enters for 20 deferred reads", st.Enters)
	}
	// A later submission schedules a new flush.
	e.Nop(newC())
	if deferred.Load() != 2 {
		t.Errorf("deferred %d, want 2", deferred.Load())
	}
	e.Flush()
}

// A Defer that fails (its loop is gone) makes the submitter flush by itself.
func TestDeferErrorFlushesInline(t *testing.T) {
	e := newEngine(t, Config{Entries: 8, OwnReaper: true, Defer: func() error { return ErrClosed }})
	c := newC()
	if _, err := e.Nop(c); err != nil {
		t.Fatal(err)
	}
	if res := c.wait(t); res != 0 {
		t.Fatalf("nop = %d", res)
	}
}

// A Flush scheduled before Close but run after it (the Defer'd goroutine was slow) must
// find the engine released and touch nothing.
func TestLateFlushAfterClose(t *testing.T) {
	var flushes []func()
	var e *Engine
	e, err := New(Config{Entries: 8, Defer: func() error { flushes = append(flushes, e.Flush); return nil }})
	if err != nil {
		t.Skip(err)
	}
	c := newC()
	e.Nop(c)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if res := c.wait(t); res != 0 && res != -int32(unix.ECANCELED) {
		t.Fatalf("nop = %d", res)
	}
	for _, f := range flushes {
		f()
	}
	if err := e.Cancel(Ticket(1 << 32)); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("cancel after close: %v", err)
	}
}

// TestRegisteredFiles: a registered slot reads and writes like the fd; an emptied slot
// and a slot number out of range fail with EBADF (bad input), and slots are reused.
func TestRegisteredFiles(t *testing.T) {
	e := newEngine(t, Config{Entries: 8, OwnReaper: true, FixedFiles: 2})
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	slot, ok := e.RegisterFile(fd)
	if !ok {
		t.Skip("kernel refused a registered-file table")
	}
	data := []byte("registered files skip the fd lookup")
	c := newC()
	e.WriteFixed(slot, data, 0, c)
	if n := c.wait(t); int(n) != len(data) {
		t.Fatalf("write fixed = %d", n)
	}
	buf := make([]byte, 64)
	c = newC()
	e.ReadFixed(slot, buf, 0, c)
	if n := c.wait(t); int(n) != len(data) || !bytes.Equal(buf[:n], data) {
		t.Fatalf("read fixed = %d %q", n, buf[:max(n, 0)])
	}
	s2, ok := e.RegisterFile(fd)
	if !ok || s2 == slot {
		t.Fatalf("second slot = %d %v", s2, ok)
	}
	if _, ok := e.RegisterFile(fd); ok {
		t.Error("a table of 2 gave a third slot")
	}
	e.UnregisterFile(slot)
	c = newC()
	e.ReadFixed(slot, buf, 0, c)
	if r := c.wait(t); !errors.Is(errnoOf(r), unix.EBADF) {
		t.Errorf("read through an emptied slot: %v", errnoOf(r))
	}
	c = newC()
	e.ReadFixed(1000, buf, 0, c)
	if r := c.wait(t); !errors.Is(errnoOf(r), unix.EBADF) {
		t.Errorf("read through slot 1000: %v", errnoOf(r))
	}
	if s3, ok := e.RegisterFile(fd); !ok || s3 != slot {
		t.Errorf("freed slot not reused: %d %v", s3, ok)
	}
	e.UnregisterFile(s2)
}

// With InlineMax, a submitter that waits for each read in turn stops going through the
// flusher: after inlineAfter single-SQE enters its reads complete inside Read, on its own
// goroutine, and only one in inlineProbe still goes to Defer. Reads queued behind one
// another share a flush again.
func TestInlineAfterSingleFlushes(t *testing.T) {
	var deferred atomic.Int32
	var e *Engine
	e = newEngine(t, Config{Entries: 16, OwnReaper: true, InlineMax: 4096, Defer: func() error {
		deferred.Add(1)
		go e.Flush()
		return nil
	}})
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("abcdefghijklmnopqrstuvwxyz")
	fd := int(f.Fd())
	buf := make([]byte, 1)
	// quiet waits for the flusher goroutine to give the ring up, so that each read
	// below finds the ring idle and the test checks the decision, not the timing.
	quiet := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			e.mu.Lock()
			busy := e.flushing || e.flushSched
			e.mu.Unlock()
			if !busy {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("flush never ended")
			}
			runtime.Gosched()
		}
	}
	read := func(i int) (inline bool) {
		t.Helper()
		quiet()
		d := deferred.Load()
		c := newC()
		if _, err := e.Read(fd, buf, int64(i%26), c); err != nil {
			t.Fatal(err)
		}
		if res := c.wait(t); res != 1 || buf[0] != byte('a'+i%26) {
			t.Fatalf("read %d: res %d buf %q", i, res, buf)
		}
		// Inline means the read never went to the flusher. Whether it had
		// completed by the time Read returned is no test of that: a flusher
		// on the other CPU can finish a page-cache read that fast.
		return deferred.Load() == d
	}
	for i := range inlineAfter {
		if read(i) {
			t.Fatalf("read %d completed inline before %d single flushes", i, inlineAfter)
		}
	}
	d0 := deferred.Load()
	inline := 0
	for i := range inlineProbe {
		if read(i) {
			inline++
		}
	}
	if inline < inlineProbe-1 || deferred.Load()-d0 > 1 {
		t.Fatalf("%d of %d reads inline, %d deferred", inline, inlineProbe, deferred.Load()-d0)
	}
	// A burst: everything but the first queues behind the probe or the running flush,
	// and the ring batches again.
	var wg sync.WaitGroup
	bufs := make([][]byte, 8)
	for round := 0; round < inlineProbe; round++ {
		for i := range bufs {
			bufs[i] = make([]byte, 1)
			wg.Add(1)
			if _, err := e.Read(fd, bufs[i], int64(i), CompletionFunc(func(res int32, _ uint32) { wg.Done() })); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		e.mu.Lock()
		mode := e.inlineMode
		e.mu.Unlock()
		if !mode {
			return
		}
	}
	t.Fatalf("still inline after %d bursts of %d reads", inlineProbe, len(bufs))
}
