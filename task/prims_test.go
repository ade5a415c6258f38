package task

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func mustJoin[T any](t *testing.T, f *Future[T]) T {
	t.Helper()
	v, err := joinWithin(t, f)
	if err != nil {
		t.Fatalf("unexpected error %v", err)
	}
	return v
}

func pendingf[T any](t *testing.T, f *Future[T]) {
	t.Helper()
	if f.IsDone() {
		t.Fatal("future resolved too early")
	}
}

func TestAll(t *testing.T) {
	s := newSched(t, 2)
	var fs []*Future[int]
	for i := 0; i < 10; i++ {
		fs = append(fs, Spawn(s, func(context.Context) (int, error) { return i * i, nil }).Future())
	}
	vals := mustJoin(t, All(fs...))
	for i, v := range vals {
		if v != i*i {
			t.Fatalf("vals %v", vals)
		}
	}
	boom := errors.New("boom")
	never := NewFuture[int](s)
	bad := Spawn(s, func(context.Context) (int, error) { return 0, boom })
	if _, err := joinWithin(t, All(never, bad.Future())); !errors.Is(err, boom) {
		t.Fatalf("All error: %v", err) // fails fast: does not wait for never
	}
	if v := mustJoin(t, All[int]()); len(v) != 0 {
		t.Fatal("All() not empty")
	}
}

func TestAny(t *testing.T) {
	s := newSched(t, 2)
	e1, e2 := errors.New("e1"), errors.New("e2")
	never := NewFuture[string](s)
	ok := Spawn(s, func(context.Context) (string, error) { return "win", nil })
	if v := mustJoin(t, Any(never, Ready("", e1), ok.Future())); v != "win" {
		t.Fatalf("Any = %q", v)
	}
	_, err := joinWithin(t, Any(Ready("", e1), Ready("", e2)))
	if !errors.Is(err, e1) || !errors.Is(err, e2) {
		t.Fatalf("Any all-fail: %v", err)
	}
	if _, err := Any[int]().Join(); !errors.Is(err, ErrNoFutures) {
		t.Fatal(err)
	}
}

func TestJoinSet(t *testing.T) {
	s := newSched(t, 2)
	js := NewJoinSet[int](s)
	gate := NewOneshot[struct{}](s)
	boom := errors.New("boom")
	js.Spawn(func(context.Context) (int, error) { _, _ = gate.Recv().Join(); return 1, nil })
	js.Spawn(func(context.Context) (int, error) { return 2, nil })
	js.Spawn(func(context.Context) (int, error) { return 0, boom })
	if js.Len() != 3 {
		t.Fatal("Len")
	}
	// Completion order: the gated task must come last.
	var first []Result[int]
	for i := 0; i < 2; i++ {
		first = append(first, mustJoin(t, js.Next()))
	}
	for _, r := range first {
		if r.Value == 1 {
			t.Fatalf("gated task finished before the gate opened: %v", first)
		}
	}
	_ = gate.Send(struct{}{})
	if r := mustJoin(t, js.Next()); r.Value != 1 || r.Err != nil {
		t.Fatalf("last %v", r)
	}
	if _, err := js.Next().Join(); !errors.Is(err, ErrJoinSetEmpty) {
		t.Fatal(err)
	}

	js2 := NewJoinSet[int](s)
	for i := 0; i < 100; i++ {
		js2.Spawn(func(context.Context) (int, error) { return i, nil })
	}
	js2.Spawn(func(context.Context) (int, error) { return 0, boom })
	vals, err := js2.Wait()
	if len(vals) != 100 || !errors.Is(err, boom) {
		t.Fatalf("Wait: %d values, %v", len(vals), err)
	}

	js3 := NewJoinSet[int](s)
	for i := 0; i < 4; i++ {
		js3.Spawn(func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
	}
	js3.CancelAll()
	if _, err := js3.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("CancelAll: %v", err)
	}
}

func TestChanFIFOAndClose(t *testing.T) {
	s := newSched(t, 2)
	c := NewChan[int](s)
	// Receivers waiting first are served in the order they asked.
	r1, r2, r3 := c.Recv(), c.Recv(), c.Recv()
	pendingf(t, r1)
	for i := 1; i <= 5; i++ {
		if err := c.Send(i); err != nil {
			t.Fatal(err)
		}
	}
	if mustJoin(t, r1) != 1 || mustJoin(t, r2) != 2 || mustJoin(t, r3) != 3 {
		t.Fatal("receivers not served FIFO")
	}
	if c.Len() != 2 {
		t.Fatalf("Len %d", c.Len())
	}
	if v, ok := c.TryRecv(); !ok || v != 4 {
		t.Fatal("TryRecv")
	}
	c.Close()
	c.Close() // idempotent
	if err := c.Send(9); !errors.Is(err, ErrChanClosed) {
		t.Fatal("Send after Close")
	}
	if v := mustJoin(t, c.Recv()); v != 5 {
		t.Fatal("buffered value lost at Close")
	}
	if _, err := c.Recv().Join(); !errors.Is(err, ErrChanClosed) {
		t.Fatal("Recv after drain")
	}
	c2 := NewChan[int](s)
	w := c2.Recv()
	c2.Close()
	if _, err := joinWithin(t, w); !errors.Is(err, ErrChanClosed) {
		t.Fatal("waiting receiver not failed by Close")
	}
	if _, ok := c2.TryRecv(); ok {
		t.Fatal("TryRecv on empty")
	}
}

// Many producers and consumers, all tasks, through an unbounded channel.
func TestChanTasksManyToMany(t *testing.T) {
	s := newSched(t, 2)
	c := NewChan[int](s)
	const P, N = 4, 2000
	var prod []*Future[int]
	for p := 0; p < P; p++ {
		prod = append(prod, Spawn(s, func(context.Context) (int, error) {
			for i := 0; i < N; i++ {
				if err := c.Send(1); err != nil {
					return 0, err
				}
			}
			return 0, nil
		}).Future())
	}
	var cons []*Future[int]
	for p := 0; p < P; p++ {
		cons = append(cons, Spawn(s, func(context.Context) (int, error) {
			n := 0
			for {
				v, err := c.Recv().Join()
				if err != nil {
					return n, nil
				}
				n += v
			}
		}).Future())
	}
	mustJoin(t, All(prod...))
	c.Close()
	total := 0
	for _, v := range mustJoin(t, All(cons...)) {
		total += v
	}
	if total != P*N {
		t.Fatalf("received %d of %d", total, P*N)
	}
}

func TestRingBackpressureFIFOAndClose(t *testing.T) {
	s := newSched(t, 2)
	r := NewRing[int](s, 2)
	if r.Cap() != 2 || NewRing[int](s, -3).Cap() != 1 {
		t.Fatal("Cap")
	}
	mustJoin(t, r.Send(1))
	mustJoin(t, r.Send(2))
	if err := r.TrySend(3); !errors.Is(err, ErrRingFull) {
		t.Fatal("TrySend on full ring")
	}
	s3, s4 := r.Send(3), r.Send(4) // wait for room, in order
	pendingf(t, s3)
	pendingf(t, s4)
	if v := mustJoin(t, r.Recv()); v != 1 {
		t.Fatal("order")
	}
	mustJoin(t, s3)
	pendingf(t, s4)
	if err := r.TrySend(5); !errors.Is(err, ErrRingFull) {
		t.Fatal("TrySend barged past a waiting sender")
	}
	for want := 2; want <= 4; want++ {
		if v := mustJoin(t, r.Recv()); v != want {
			t.Fatalf("got %d want %d", v, want)
		}
	}
	mustJoin(t, s4)
	// Waiting receivers are served FIFO too.
	a, b := r.Recv(), r.Recv()
	_ = r.TrySend(10)
	_ = r.TrySend(11)
	if mustJoin(t, a) != 10 || mustJoin(t, b) != 11 {
		t.Fatal("receivers not FIFO")
	}
	// Close: waiting senders fail, buffered values still arrive.
	mustJoin(t, r.Send(20))
	mustJoin(t, r.Send(21))
	blocked := r.Send(22)
	r.Close()
	if _, err := joinWithin(t, blocked); !errors.Is(err, ErrChanClosed) {
		t.Fatal("waiting sender not failed by Close")
	}
	if _, err := r.Send(23).Join(); !errors.Is(err, ErrChanClosed) {
		t.Fatal("Send after Close")
	}
	if err := r.TrySend(23); !errors.Is(err, ErrChanClosed) {
		t.Fatal("TrySend after Close")
	}
	if mustJoin(t, r.Recv()) != 20 || mustJoin(t, r.Recv()) != 21 {
		t.Fatal("buffered values lost")
	}
	if _, err := r.Recv().Join(); !errors.Is(err, ErrChanClosed) {
		t.Fatal("Recv after drain")
	}
	r2 := NewRing[int](s, 1)
	w := r2.Recv()
	r2.Close()
	if _, err := joinWithin(t, w); !errors.Is(err, ErrChanClosed) {
		t.Fatal("waiting receiver not failed")
	}
}

func TestMutexFIFOAndClose(t *testing.T) {
	s := newSched(t, 2)
	m := NewMutex(s)
	if err := m.Unlock(); !errors.Is(err, ErrNotLocked) {
		t.Fatal("Unlock of unlocked")
	}
	mustJoin(t, m.Lock())
	if m.TryLock() {
		t.Fatal("TryLock on held lock")
	}
	l1, l2 := m.Lock(), m.Lock()
	pendingf(t, l1)
	_ = m.Unlock()
	mustJoin(t, l1)
	pendingf(t, l2)
	_ = m.Unlock()
	mustJoin(t, l2)
	_ = m.Unlock()
	if !m.TryLock() {
		t.Fatal("TryLock on free lock")
	}
	l3 := m.Lock()
	m.Close()
	if _, err := joinWithin(t, l3); !errors.Is(err, ErrLockClosed) {
		t.Fatal("waiter not failed by Close")
	}
	if _, err := m.Lock().Join(); !errors.Is(err, ErrLockClosed) {
		t.Fatal("Lock after Close")
	}
	if err := m.Unlock(); err != nil {
		t.Fatal("holder cannot Unlock after Close")
	}
}

// Tasks incrementing a plain counter under the async mutex, holding it
// across a Join: mutual exclusion and no lost worker at 1 worker.
func TestMutexUnderTasks(t *testing.T) {
	for _, workers := range []int{1, 2} {
		s := newSched(t, workers)
		m := NewMutex(s)
		counter := 0
		var order []int
		var mu sync.Mutex
		var hs []*Future[int]
		for i := 0; i < 200; i++ {
			hs = append(hs, Spawn(s, func(context.Context) (int, error) {
				if _, err := m.Lock().Join(); err != nil {
					return 0, err
				}
				c := counter
				Spawn(s, func(context.Context) (int, error) { return 0, nil }).Join() // yield-ish while holding
				counter = c + 1
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return 0, m.Unlock()
			}).Future())
		}
		mustJoin(t, All(hs...))
		if counter != 200 || len(order) != 200 {
			t.Fatalf("workers=%d counter %d", workers, counter)
		}
	}
}

func TestSemaphoreFIFOAndClose(t *testing.T) {
	s := newSched(t, 2)
	sem := NewSemaphore(s, 3)
	if _, err := sem.Acquire(4).Join(); !errors.Is(err, ErrBadWeight) {
		t.Fatal("oversized acquire")
	}
	if _, err := sem.Acquire(-1).Join(); !errors.Is(err, ErrBadWeight) {
		t.Fatal("negative acquire")
	}
	mustJoin(t, sem.Acquire(2))
	big := sem.Acquire(3)   // waits for everything
	small := sem.Acquire(1) // would fit now, but must not pass big
	pendingf(t, big)
	pendingf(t, small)
	if sem.TryAcquire(1) {
		t.Fatal("TryAcquire barged past waiters")
	}
	if err := sem.Release(2); err != nil {
		t.Fatal(err)
	}
	mustJoin(t, big)
	pendingf(t, small)
	_ = sem.Release(3)
	mustJoin(t, small)
	if sem.Available() != 2 {
		t.Fatalf("available %d", sem.Available())
	}
	if err := sem.Release(5); !errors.Is(err, ErrNotLocked) {
		t.Fatal("over-release")
	}
	_ = sem.Release(1)
	mustJoin(t, sem.Acquire(3))
	w := sem.Acquire(1)
	sem.Close()
	if _, err := joinWithin(t, w); !errors.Is(err, ErrLockClosed) {
		t.Fatal("waiter not failed by Close")
	}
	if _, err := sem.Acquire(1).Join(); !errors.Is(err, ErrLockClosed) {
		t.Fatal("Acquire after Close")
	}
	if sem.TryAcquire(0) {
		t.Fatal("TryAcquire after Close")
	}
	if NewSemaphore(s, -1).Available() != 0 {
		t.Fatal("negative capacity")
	}
}

func TestOneshot(t *testing.T) {
	s := newSched(t, 1)
	o := NewOneshot[string](s)
	f := o.Recv()
	if f != o.Recv() {
		t.Fatal("Recv returned different futures")
	}
	if err := o.Send("a"); err != nil {
		t.Fatal(err)
	}
	if err := o.Send("b"); !errors.Is(err, ErrChanClosed) {
		t.Fatal("second Send")
	}
	o.Close() // after Send: no effect
	if mustJoin(t, f) != "a" {
		t.Fatal("value")
	}
	o2 := NewOneshot[int](nil)
	o2.Close()
	if _, err := o2.Recv().Join(); !errors.Is(err, ErrChanClosed) {
		t.Fatal("Recv after Close")
	}
	if err := o2.Send(1); !errors.Is(err, ErrChanClosed) {
		t.Fatal("Send after Close")
	}
}

func TestTimers(t *testing.T) {
	s := newSched(t, 1)
	start := time.Now()
	mustJoin(t, Sleep(s, 5*time.Millisecond))
	if time.Since(start) < 5*time.Millisecond {
		t.Fatal("Sleep too short")
	}
	select {
	case <-After(s, time.Millisecond):
	case <-time.After(10 * time.Second):
		t.Fatal("After never fired")
	}
	slow := NewFuture[int](s)
	if _, err := joinWithin(t, Timeout(s, slow, time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("Timeout did not fire")
	}
	if v := mustJoin(t, Timeout(s, Ready(3, nil), time.Hour)); v != 3 {
		t.Fatal("Timeout on a ready future")
	}
	tk := NewTicker(s, time.Millisecond)
	for i := 0; i < 3; i++ {
		mustJoin(t, tk.Next())
	}
	tk.Stop()
	for i := 0; ; i++ {
		// At most one tick was buffered at Stop.
		if _, err := joinWithin(t, tk.Next()); errors.Is(err, ErrChanClosed) {
			break
		}
		if i > 1 {
			t.Fatal("ticker kept ticking after Stop")
		}
	}
}

type fakeTimers struct {
	*schedulerExec
	calls int
	mu    sync.Mutex
}

type schedulerExec = struct{ Executor }

func (f *fakeTimers) AfterFunc(d time.Duration, fn func()) func() bool {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return time.AfterFunc(d, fn).Stop
}

func TestTimersInterfaceUsed(t *testing.T) {
	s := newSched(t, 1)
	ft := &fakeTimers{schedulerExec: &schedulerExec{s}}
	mustJoin(t, Sleep(ft, time.Millisecond))
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.calls != 1 {
		t.Fatal("Executor's Timers not used")
	}
}
