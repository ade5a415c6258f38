package scheduler

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// ants starts its default pool's goroutines at package init.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

func waitTimeout(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("timed out")
	}
}

func TestGoRunsEverything(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		s := New(Workers(workers))
		const N = 10000
		var n atomic.Int64
		var wg sync.WaitGroup
		wg.Add(N)
		for i := 0; i < N; i++ {
			s.Go(func() {
				// Nested spawns from workers exercise the local deque, overflow and stealing.
				if i%10 == 0 {
					wg.Add(1)
					s.Go(func() { n.Add(1); wg.Done() })
				}
				n.Add(1)
				wg.Done()
			})
		}
		waitTimeout(t, &wg)
		s.Close()
		if got := n.Load(); got != N+N/10 {
			t.Fatalf("workers=%d ran %d", workers, got)
		}
		st := s.Stats()
		if st.Ran != N+N/10 || st.Spawned != N+N/10 || st.Queued != 0 {
			t.Fatalf("stats %+v", st)
		}
	}
}

func TestCloseDrainsQueuedAndRejectsNew(t *testing.T) {
	s := New(Workers(1))
	gate := make(chan struct{})
	started := make(chan struct{})
	s.Go(func() { close(started); <-gate }) // pins the only worker on purpose
	<-started
	var ran atomic.Int64
	for i := 0; i < 100; i++ {
		s.Go(func() { ran.Add(1) })
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	// Close has begun once the context is cancelled.
	<-s.Context().Done()
	if err := s.TryGo(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryGo during Close: %v", err)
	}
	if err := s.Blocking(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Blocking during Close: %v", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a task was still running")
	default:
	}
	close(gate)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
	if ran.Load() != 100 {
		t.Fatalf("drained %d of 100 queued tasks", ran.Load())
	}
	if s.Stats().Rejected != 2 {
		t.Fatalf("rejected %d", s.Stats().Rejected)
	}
}

// A task blocked in Block must not pin the only worker.
func TestBlockHandsOffWorker(t *testing.T) {
	s := New(Workers(1))
	defer s.Close()
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	s.Go(func() {
		Block(func() { <-release })
		wg.Done()
	})
	s.Go(func() { close(release); wg.Done() }) // needs the worker the first task holds
	waitTimeout(t, &wg)
	if s.Stats().Handoffs == 0 {
		t.Fatal("no handoff recorded")
	}
}

func TestPanicInGoRecovered(t *testing.T) {
	got := make(chan any, 1)
	s := New(Workers(1), PanicHandler(func(v any) { got <- v }))
	defer s.Close()
	s.Go(func() { panic("boom") })
	if v := <-got; v != "boom" {
		t.Fatalf("handler got %v", v)
	}
	done := make(chan struct{})
	s.Go(func() { close(done) })
	<-done // the worker survived
	if s.Stats().Panics != 1 {
		t.Fatal("panic not counted")
	}
}

func TestBlockingPoolBound(t *testing.T) {
	s := New(Workers(1), BlockingPool(2))
	defer s.Close()
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	const N = 20
	wg.Add(N)
	for i := 0; i < N; i++ {
		if err := s.Blocking(func() {
			defer wg.Done()
			c := cur.Add(1)
			for {
				p := peak.Load()
				if c <= p || peak.CompareAndSwap(p, c) {
					break
				}
			}
			<-gate
			cur.Add(-1)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.BlockingRunning != 2 || st.BlockingQueued != N-2 {
		t.Fatalf("stats %+v", st)
	}
	close(gate)
	waitTimeout(t, &wg)
	if peak.Load() > 2 {
		t.Fatalf("peak %d > bound 2", peak.Load())
	}
}

func TestCurrentAndOnWorker(t *testing.T) {
	s := New(Workers(2))
	defer s.Close()
	if s.OnWorker() || Current() != nil {
		t.Fatal("test goroutine taken for a worker")
	}
	res := make(chan bool, 2)
	s.Go(func() {
		res <- s.OnWorker() && Current() == s
		go func() { res <- Current() == nil }() // a goroutine started by a task is not a worker
	})
	for i := 0; i < 2; i++ {
		if !<-res {
			t.Fatal("wrong worker identity")
		}
	}
}

func TestDequeStealHalf(t *testing.T) {
	var a, b deque
	ts := make([]Task, 10)
	for i := range ts {
		if !a.push(&ts[i]) {
			t.Fatal("push")
		}
	}
	first := a.stealHalf(&b, func(*Task) { t.Fatal("spill") })
	if first != &ts[0] || b.size() != 4 || a.size() != 5 {
		t.Fatalf("first=%p sizes %d %d", first, a.size(), b.size())
	}
	if x := a.pop(); x != &ts[9] {
		t.Fatal("owner pop is not LIFO")
	}
	for i := 0; i < dequeSize; i++ {
		a.pop()
	}
	if a.pop() != nil || a.size() != 0 {
		t.Fatal("empty deque returned a task")
	}
	for i := 0; i < dequeSize; i++ {
		if !a.push(&ts[0]) {
			t.Fatalf("push %d failed below capacity", i)
		}
	}
	if a.push(&ts[0]) {
		t.Fatal("push beyond capacity succeeded")
	}
}

// During Close, running tasks may still spawn (and use the blocking pool);
// whatever waits on that work must not be stranded.
func TestCloseLetsRunningTasksSpawn(t *testing.T) {
	s := New(Workers(1))
	started := make(chan struct{})
	release := make(chan struct{})
	var child, blocking atomic.Bool
	s.Go(func() {
		close(started)
		<-release // pinned on purpose until Close has begun
		var wg sync.WaitGroup
		wg.Add(2)
		if err := s.TryGo(func() { child.Store(true); wg.Done() }); err != nil {
			t.Errorf("spawn from a running task during Close: %v", err)
			wg.Done()
		}
		if err := s.Blocking(func() { blocking.Store(true); wg.Done() }); err != nil {
			t.Errorf("Blocking from a running task during Close: %v", err)
			wg.Done()
		}
		Block(wg.Wait)
	})
	<-started
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	<-s.Context().Done()
	if err := s.TryGo(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("outside spawn during Close: %v", err)
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
	if !child.Load() || !blocking.Load() {
		t.Fatal("work spawned during the drain did not run")
	}
}

// Close called from one of the pool's own tasks only begins the shutdown; a
// second Close from outside then waits for the drain.
func TestCloseFromOwnTask(t *testing.T) {
	s := New(Workers(2))
	returned := make(chan struct{})
	var after atomic.Bool
	s.Go(func() {
		s.Close() // must not wait for itself
		close(returned)
		after.Store(true)
	})
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Close from a task blocked")
	}
	s.Close()
	if !after.Load() {
		t.Fatal("task did not finish before Close returned")
	}
	if err := s.TryGo(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatal("spawn after Close accepted")
	}
}

// A task that polls in a loop, yielding, lets a task queued behind it run
// even at one worker.
func TestYield(t *testing.T) {
	s := New(Workers(1))
	defer s.Close()
	var flag atomic.Bool
	done := make(chan int, 1)
	s.Go(func() {
		n := 0
		for !flag.Load() {
			Yield()
			n++
		}
		if Current() != s {
			n = -1
		}
		done <- n
	})
	s.Go(func() { flag.Store(true) })
	select {
	case n := <-done:
		if n < 1 {
			t.Fatalf("yielded %d times", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Yield did not let the other task run")
	}
	Yield() // outside the pool: just Gosched
}
