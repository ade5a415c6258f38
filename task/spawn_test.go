package task

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/weftrt/weft/scheduler"
)

// fib spawns a task for every call above the cutoff (both halves, so that
// joins meet tasks queued, stolen and running) and joins them from inside
// the calling task.
func fib(ex Executor, n int) int {
	if n <= 10 {
		return fibSerial(n)
	}
	h := Spawn(ex, func(context.Context) (int, error) { return fib(ex, n-1), nil })
	h2 := Spawn(ex, func(context.Context) (int, error) { return fib(ex, n-2), nil })
	a, _ := h.Join()
	b, _ := h2.Join()
	return a + b
}

func fibSerial(n int) int {
	if n < 2 {
		return n
	}
	return fibSerial(n-1) + fibSerial(n-2)
}

// joinWithin fails the test instead of hanging when a future never resolves.
func joinWithin[T any](t *testing.T, f *Future[T]) (T, error) {
	t.Helper()
	select {
	case <-f.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("future did not resolve")
	}
	return f.Join()
}

func newSched(t *testing.T, workers int) *scheduler.Scheduler {
	s := scheduler.New(scheduler.Workers(workers))
	t.Cleanup(s.Close)
	return s
}

func TestSpawnJoinBasic(t *testing.T) {
	s := newSched(t, 2)
	h := Spawn(s, func(context.Context) (int, error) { return 42, nil })
	if v, err := joinWithin(t, h.Future()); v != 42 || err != nil {
		t.Fatalf("got %v %v", v, err)
	}
	boom := errors.New("boom")
	h2 := Spawn(s, func(context.Context) (int, error) { return 0, boom })
	if _, err := h2.Join(); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if !h.IsDone() {
		t.Fatal("IsDone false after Join")
	}
}

func TestFibWorkers(t *testing.T) {
	for _, n := range []int{1, 2, 8} {
		s := scheduler.New(scheduler.Workers(n))
		root := Spawn(s, func(context.Context) (int, error) { return fib(s, 30), nil })
		v, err := joinWithin(t, root.Future())
		s.Close()
		if err != nil || v != 832040 {
			t.Fatalf("workers=%d fib(30)=%d %v", n, v, err)
		}
	}
}

func TestMillionSum(t *testing.T) {
	s := newSched(t, 2)
	const N = 1_000_000
	var sum atomic.Int64
	hs := make([]*JoinHandle[int], 0, N)
	for i := 0; i < N; i++ {
		hs = append(hs, Spawn(s, func(context.Context) (int, error) { sum.Add(int64(i)); return i, nil }))
	}
	var total int64
	for _, h := range hs {
		v, err := h.Join()
		if err != nil {
			t.Fatal(err)
		}
		total += int64(v)
	}
	want := int64(N) * (N - 1) / 2
	if total != want || sum.Load() != want {
		t.Fatalf("total %d sum %d want %d", total, sum.Load(), want)
	}
}

func TestCancelSeenByRunningTask(t *testing.T) {
	s := newSched(t, 2)
	started := make(chan struct{})
	h := Spawn(s, func(ctx context.Context) (string, error) {
		close(started)
		<-ctx.Done()
		return "stopped", ctx.Err()
	})
	<-started
	h.Cancel()
	v, err := joinWithin(t, h.Future())
	if v != "stopped" || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %q %v", v, err)
	}
}

func TestCancelBeforeStartSkipsTask(t *testing.T) {
	s := newSched(t, 1)
	gate := make(chan struct{})
	s.Go(func() { <-gate }) // holds the only worker
	var ran atomic.Bool
	h := Spawn(s, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
	h.Cancel()
	close(gate)
	if _, err := joinWithin(t, h.Future()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if ran.Load() {
		t.Fatal("cancelled task ran")
	}
}

func TestContextCancelledOnClose(t *testing.T) {
	s := scheduler.New(scheduler.Workers(1))
	started := make(chan struct{})
	h := Spawn(s, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	<-started
	s.Close() // waits for the task, which returns once its ctx is done
	if _, err := h.Join(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestPanicReportedPoolSurvives(t *testing.T) {
	s := newSched(t, 1)
	h := Spawn(s, func(context.Context) (int, error) { panic("kaboom") })
	_, err := joinWithin(t, h.Future())
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || !strings.Contains(string(pe.Stack), "spawn_test.go") {
		t.Fatalf("err %v", err)
	}
	sentinel := errors.New("inner")
	h2 := Spawn(s, func(context.Context) (int, error) { panic(sentinel) })
	if _, err := joinWithin(t, h2.Future()); !errors.Is(err, sentinel) {
		t.Fatalf("panic(error) not unwrapped: %v", err)
	}
	h3 := Spawn(s, func(context.Context) (int, error) { return 3, nil })
	if v, err := joinWithin(t, h3.Future()); v != 3 || err != nil {
		t.Fatalf("pool did not survive: %v %v", v, err)
	}
}

func TestGoexitInTask(t *testing.T) {
	s := newSched(t, 1)
	h := Spawn(s, func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
	if _, err := joinWithin(t, h.Future()); !errors.Is(err, ErrGoexit) {
		t.Fatalf("err %v", err)
	}
	h2 := Spawn(s, func(context.Context) (int, error) { return 2, nil })
	if v, _ := joinWithin(t, h2.Future()); v != 2 {
		t.Fatal("worker lost after Goexit")
	}
}

func TestDetach(t *testing.T) {
	got := make(chan any, 1)
	s := scheduler.New(scheduler.Workers(1), scheduler.PanicHandler(func(v any) { got <- v }))
	defer s.Close()
	gate := make(chan struct{})
	h := Spawn(s, func(context.Context) (int, error) { <-gate; panic("detached boom") })
	h.Detach()
	if _, err := h.Join(); !errors.Is(err, ErrDetached) {
		t.Fatalf("Join after Detach: %v", err)
	}
	close(gate)
	select {
	case v := <-got:
		if pe, ok := v.(*PanicError); !ok || pe.Value != "detached boom" {
			t.Fatalf("handler got %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("detached panic not reported")
	}
	// Detach after the panic happened reports it too, once.
	h2 := Spawn(s, func(context.Context) (int, error) { panic("early boom") })
	<-h2.Done()
	h2.Detach()
	h2.Detach()
	if v := <-got; v.(*PanicError).Value != "early boom" {
		t.Fatalf("handler got %v", v)
	}
	select {
	case v := <-got:
		t.Fatalf("reported twice: %v", v)
	default:
	}
}

// A handle nobody references is ordinary garbage once its task has run:
// nothing in the scheduler keeps it.
func TestUnreferencedHandleIsCollected(t *testing.T) {
	s := newSched(t, 2)
	ran := make(chan struct{})
	wp := func() weak.Pointer[JoinHandle[[]byte]] {
		h := Spawn(s, func(context.Context) ([]byte, error) { defer close(ran); return make([]byte, 1<<20), nil })
		return weak.Make(h)
	}()
	<-ran
	for i := 0; i < 50 && wp.Value() != nil; i++ {
		runtime.GC()
		// The task returns after close(ran): give it a moment to finish.
		runtime.Gosched()
	}
	if wp.Value() != nil {
		t.Fatal("dropped handle still reachable")
	}
}

func TestJoinOutsideWorkerAndAwait(t *testing.T) {
	s := newSched(t, 1)
	gate := make(chan struct{})
	h := Spawn(s, func(context.Context) (int, error) { <-gate; return 5, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await: %v", err)
	}
	close(gate)
	if v, err := h.Await(context.Background()); v != 5 || err != nil {
		t.Fatalf("Await: %v %v", v, err)
	}
}

// A task waiting on a future that only a later task completes must not pin
// the only worker.
func TestJoinPlainFutureDoesNotPin(t *testing.T) {
	s := newSched(t, 1)
	o := NewOneshot[int](s)
	a := Spawn(s, func(context.Context) (int, error) { return o.Recv().Join() })
	b := Spawn(s, func(context.Context) (int, error) { return 0, o.Send(9) })
	if v, err := joinWithin(t, a.Future()); v != 9 || err != nil {
		t.Fatalf("%v %v", v, err)
	}
	if _, err := joinWithin(t, b.Future()); err != nil {
		t.Fatal(err)
	}
}

func TestThenRunsOnScheduler(t *testing.T) {
	s := newSched(t, 2)
	f := NewFuture[int](s)
	res := make(chan bool, 2)
	f.Then(func(v int, err error) { res <- v == 4 && err == nil && scheduler.Current() == s })
	go f.Complete(4, nil) // from a plain goroutine, as an event loop would
	if !<-res {
		t.Fatal("continuation wrong or not on the scheduler")
	}
	f.Then(func(v int, err error) { res <- v == 4 && scheduler.Current() == s }) // already done
	if !<-res {
		t.Fatal("late continuation")
	}
	if f.Complete(5, nil) {
		t.Fatal("second Complete won")
	}
}

func TestFutureDoneAndReady(t *testing.T) {
	s := newSched(t, 1)
	f := NewFuture[string](s)
	d1, d2 := f.Done(), f.Done()
	if d1 != d2 {
		t.Fatal("Done returned different channels")
	}
	select {
	case <-d1:
		t.Fatal("Done closed early")
	default:
	}
	f.Complete("x", nil)
	<-d1
	if v, err, ok := f.Result(); !ok || v != "x" || err != nil {
		t.Fatal("Result")
	}
	r := Ready(1, errors.New("e"))
	if _, err := r.Join(); err == nil {
		t.Fatal("Ready error lost")
	}
	<-r.Done()
}

func TestSpawnBlocking(t *testing.T) {
	s := newSched(t, 1)
	h := SpawnBlocking(s, func(context.Context) (int, error) {
		time.Sleep(time.Millisecond) // really blocking: it must not be on a worker
		if scheduler.Current() != nil {
			return 0, errors.New("ran on a worker")
		}
		return 8, nil
	})
	if v, err := joinWithin(t, h.Future()); v != 8 || err != nil {
		t.Fatalf("%v %v", v, err)
	}
}

func TestSpawnAfterClose(t *testing.T) {
	s := scheduler.New(scheduler.Workers(1))
	s.Close()
	if _, err := Spawn(s, func(context.Context) (int, error) { return 1, nil }).Join(); !errors.Is(err, ErrClosed) {
		t.Fatalf("%v", err)
	}
	if _, err := SpawnBlocking(s, func(context.Context) (int, error) { return 1, nil }).Join(); !errors.Is(err, ErrClosed) {
		t.Fatalf("%v", err)
	}
}

func TestTaskContextEndsWithTask(t *testing.T) {
	s := newSched(t, 1)
	var saved context.Context
	h := Spawn(s, func(ctx context.Context) (int, error) {
		saved = ctx
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return 0, errors.New("done while running")
		default:
		}
		return 1, nil
	})
	mustJoin(t, h.Future())
	select {
	case <-saved.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("context not done after the task returned")
	}
	if !errors.Is(saved.Err(), context.Canceled) {
		t.Fatal(saved.Err())
	}
	if _, ok := saved.Deadline(); ok {
		t.Fatal("deadline")
	}
	type key struct{}
	if saved.Value(key{}) != nil {
		t.Fatal("value")
	}
}
