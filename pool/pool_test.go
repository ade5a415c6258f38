package pool

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrt/weft/scheduler"
	"github.com/weftrt/weft/task"
)

func TestMain(m *testing.M) {
	// ants starts its default pool's goroutines at package init.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// res is a test resource; the manager below counts how many are open at once.
type res struct {
	id     int64
	broken atomic.Bool // set by the test to play a peer that hung up
	closed atomic.Bool
}

type counter struct {
	t        *testing.T
	next     atomic.Int64
	open     atomic.Int64
	maxOpen  atomic.Int64
	failNext atomic.Int64 // fail this many Connects before succeeding
	failErr  error
	opened   chan *res // each successful Connect, for tests that wait on refills
}

func newCounter(t *testing.T) *counter {
	return &counter{t: t, failErr: errors.New("peer refused"), opened: make(chan *res, 1<<14)}
}

func (m *counter) Connect(ctx context.Context) (*res, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.failNext.Add(-1) >= 0 {
		return nil, m.failErr
	}
	n := m.open.Add(1)
	for {
		old := m.maxOpen.Load()
		if n <= old || m.maxOpen.CompareAndSwap(old, n) {
			break
		}
	}
	r := &res{id: m.next.Add(1)}
	m.opened <- r
	return r, nil
}

func (m *counter) Close(r *res) error {
	if r.closed.Swap(true) {
		m.t.Errorf("resource %d closed twice", r.id)
	}
	m.open.Add(-1)
	return nil
}

func (m *counter) Broken(r *res) bool { return r.broken.Load() }

func (m *counter) Check(_ context.Context, r *res) error {
	if r.broken.Load() {
		return errors.New("peer hung up")
	}
	return nil
}

// awaitOpened waits for n successful Connects, bounded in time.
func (m *counter) awaitOpened(t *testing.T, n int) []*res {
	t.Helper()
	var out []*res
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case r := <-m.opened:
			out = append(out, r)
		case <-deadline:
			t.Fatalf("got %d opens, want %d", len(out), n)
		}
	}
	return out
}

// withClock replaces the pool's clock from the start, before New opens anything.
func withClock(f func() int64) Option { return func(c *config) { c.clock = f } }

func newSched(t testing.TB) *scheduler.Scheduler {
	s := scheduler.New(scheduler.Workers(2))
	t.Cleanup(s.Close)
	return s
}

func newPool(t testing.TB, m Manager[*res], opts ...Option) *Pool[*res] {
	t.Helper()
	p, err := New(m, append([]Option{Executor(newSched(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func join[T any](t testing.TB, f *task.Future[T]) (T, error) {
	t.Helper()
	select {
	case <-f.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("future not complete after 30s")
	}
	return f.Join()
}

func TestManyTasksShareEight(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(8))
	const tasks, per = 1000, 10
	var served, inUse, maxInUse atomic.Int64
	hs := make([]*task.JoinHandle[int], tasks)
	for i := range hs {
		hs[i] = task.Spawn(p.ex, func(ctx context.Context) (int, error) {
			for range per {
				c, err := p.Get(ctx).Join()
				if err != nil {
					return 0, err
				}
				n := inUse.Add(1)
				for old := maxInUse.Load(); n > old && !maxInUse.CompareAndSwap(old, n); old = maxInUse.Load() {
				}
				if c.Value().closed.Load() {
					t.Error("handed out a closed resource")
				}
				// Hold the resource across a real wait, so that the worker moves on to
				// other tasks and Gets queue.
				if _, err := task.Spawn(p.ex, func(context.Context) (int, error) { return 0, nil }).Join(); err != nil {
					return 0, err
				}
				inUse.Add(-1)
				c.Release()
				served.Add(1)
			}
			return per, nil
		})
	}
	for _, h := range hs {
		if _, err := join(t, h.Future()); err != nil {
			t.Fatal(err)
		}
	}
	if got := served.Load(); got != tasks*per {
		t.Fatalf("served %d Gets, want %d", got, tasks*per)
	}
	if mo := m.maxOpen.Load(); mo > 8 || maxInUse.Load() > 8 {
		t.Fatalf("max open %d, max in use %d: want <= 8", mo, maxInUse.Load())
	}
	st := p.Stats()
	if st.Gets != tasks*per || st.InUse != 0 || st.Waiting != 0 || st.Open != int(m.open.Load()) {
		t.Fatalf("stats after the run: %+v (manager has %d open)", st, m.open.Load())
	}
	t.Logf("max open %d, %d of %d Gets waited, %d opens", m.maxOpen.Load(), st.Waited, st.Gets, st.Connects)
}

func TestFIFO(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(1))
	c, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	fs := make([]*task.Future[*Conn[*res]], 5)
	for i := range fs {
		fs[i] = p.Get(context.Background())
	}
	for i := range fs {
		c.Release() // hands over synchronously: the next waiter is complete when it returns
		for j := i; j < len(fs); j++ {
			select {
			case <-fs[j].Done():
				if j != i {
					t.Fatalf("waiter %d served before waiter %d", j, i)
				}
			default:
				if j == i {
					t.Fatalf("waiter %d not served by a Release", i)
				}
			}
		}
		if c, err = fs[i].Join(); err != nil {
			t.Fatal(err)
		}
	}
	c.Release()
	if m.next.Load() != 1 {
		t.Fatalf("opened %d resources for a pool of 1", m.next.Load())
	}
}

func TestWaiterCtxTimeout(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(1))
	held, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := join(t, p.Get(ctx)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get past its ctx deadline: %v, want DeadlineExceeded", err)
	}
	if st := p.Stats(); st.Waiting != 0 || st.Canceled != 1 {
		t.Fatalf("after the timeout: %+v", st)
	}
	// The resource the abandoned waiter might have got is not lost.
	held.Release()
	c, ok := p.TryGet(context.Background())
	if !ok {
		t.Fatal("the released resource is not idle")
	}
	c.Release()

	// A ctx already done fails at once, even with a resource idle.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := join(t, p.Get(done)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled ctx: %v", err)
	}
}

func TestConnectionTimeout(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(1), ConnectionTimeout(20*time.Millisecond))
	held, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	// Two waiters share the queue's one timer: each still fails on its own deadline.
	f1 := p.Get(context.Background())
	f2 := p.Get(context.Background())
	for _, f := range []*task.Future[*Conn[*res]]{f1, f2} {
		_, err = join(t, f)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Get past ConnectionTimeout: %v", err)
		}
	}
	if st := p.Stats(); st.TimedOut != 2 || st.Waiting != 0 {
		t.Fatalf("after the timeout: %+v", st)
	}
}

// Cancellations racing hand-offs: every resource handed out is released, so at the end
// nothing may be in use and nothing may have leaked past MaxSize.
func TestCancelRacesHandoff(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(2))
	var wg sync.WaitGroup
	var got, failed atomic.Int64
	for i := range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			f := p.Get(ctx)
			if i%2 == 0 {
				cancel() // races the hand-off below
			}
			c, err := f.Join()
			cancel()
			if err != nil {
				failed.Add(1)
				return
			}
			got.Add(1)
			c.Release()
		}()
	}
	wg.Wait()
	st := p.Stats()
	if st.InUse != 0 || st.Waiting != 0 || st.Open > 2 || m.maxOpen.Load() > 2 {
		t.Fatalf("after the race: %+v, max open %d", st, m.maxOpen.Load())
	}
	if got.Load()+failed.Load() != 2000 || uint64(failed.Load()) != st.Canceled {
		t.Fatalf("got %d, failed %d, stats %+v", got.Load(), failed.Load(), st)
	}
	// Both resources are still usable.
	a, _ := join(t, p.Get(context.Background()))
	b, _ := join(t, p.Get(context.Background()))
	if a == nil || b == nil || a == b {
		t.Fatal("resources lost in the race")
	}
	a.Release()
	b.Release()
}

func TestBrokenReplaced(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(2))
	c, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	first := c.Value()
	first.broken.Store(true)
	c.Release() // broken on return: closed, not reused
	if !first.closed.Load() {
		t.Fatal("a broken resource was not closed on return")
	}
	c, err = join(t, p.Get(context.Background()))
	if err != nil || c.Value() == first {
		t.Fatalf("Get after a broken return: %v, same resource: %v", err, c.Value() == first)
	}
	second := c.Value()
	c.Release()
	second.broken.Store(true) // goes bad while idle: the checkout check catches it
	c, err = join(t, p.Get(context.Background()))
	if err != nil || c.Value() == second || !second.closed.Load() {
		t.Fatalf("Get over a broken idle resource: %v", err)
	}
	c.Discard()
	st := p.Stats()
	if st.ClosedBroken != 2 || st.Discarded != 1 || st.Open != 0 || m.open.Load() != 0 {
		t.Fatalf("stats %+v, manager open %d", st, m.open.Load())
	}
}

func TestExpiredReplaced(t *testing.T) {
	m := newCounter(t)
	var clock atomic.Int64
	p := newPool(t, m, MaxSize(2), MaxLifetime(time.Hour), IdleTimeout(10*time.Minute), withClock(clock.Load))

	c, _ := join(t, p.Get(context.Background()))
	old := c.Value()
	clock.Add(int64(2 * time.Hour))
	c.Release() // past its lifetime on return
	if !old.closed.Load() {
		t.Fatal("a resource past MaxLifetime was not closed on return")
	}

	c, _ = join(t, p.Get(context.Background()))
	old = c.Value()
	c.Release()
	clock.Add(int64(2 * time.Hour)) // expires while idle: checkout replaces it
	c, _ = join(t, p.Get(context.Background()))
	if c.Value() == old || !old.closed.Load() {
		t.Fatal("an idle resource past MaxLifetime was handed out")
	}
	c.Release()

	clock.Add(int64(20 * time.Minute)) // idle too long: the sweep closes it
	p.reap()
	st := p.Stats()
	if st.ClosedLifetime != 2 || st.ClosedIdle != 1 || st.Open != 0 || m.open.Load() != 0 {
		t.Fatalf("stats %+v, manager open %d", st, m.open.Load())
	}
}

func TestMinIdleRefilled(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(4), MinIdle(3), ReapInterval(5*time.Millisecond))
	first := m.awaitOpened(t, 3) // warmed with no Get
	for _, r := range first {
		r.broken.Store(true) // the peer closes them
	}
	m.awaitOpened(t, 3) // the sweep notices and refills
	deadline := time.Now().Add(10 * time.Second)
	for _, r := range first {
		for !r.closed.Load() { // the sweep closes them before it refills, but on another goroutine
			if time.Now().After(deadline) {
				t.Fatal("the broken resources were never closed")
			}
			runtime.Gosched()
		}
	}
	if st := p.Stats(); st.ClosedBroken != 3 || st.Open > 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseFailsWaiters(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(1))
	held, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fs := make([]*task.Future[*Conn[*res]], 5)
	for i := range fs {
		fs[i] = p.Get(ctx)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		if _, err := join(t, f); !errors.Is(err, ErrClosed) {
			t.Fatalf("waiter %d after Close: %v", i, err)
		}
	}
	if _, err := join(t, p.Get(ctx)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	r := held.Value()
	held.Release() // after Close: closed, not pooled
	if !r.closed.Load() {
		t.Fatal("a resource released after Close was not closed")
	}
	if m.open.Load() != 0 {
		t.Fatalf("%d resources open after Close and Release", m.open.Load())
	}
	if p.Close() != nil {
		t.Fatal("second Close")
	}
}

func TestRetryThenFail(t *testing.T) {
	m := newCounter(t)
	m.failNext.Store(2)
	p := newPool(t, m, MaxSize(1), Retry(3, time.Millisecond, 2*time.Millisecond))
	c, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatalf("Get with two failures then a success: %v", err)
	}
	c.Discard()
	m.failNext.Store(3)
	if _, err := join(t, p.Get(context.Background())); !errors.Is(err, m.failErr) {
		t.Fatalf("Get with every attempt failing: %v", err)
	}
	if st := p.Stats(); st.ConnectErrors != 5 || st.Connects != 1 || st.Connecting != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBadOptions(t *testing.T) {
	ex := newSched(t)
	m := newCounter(t)
	for name, opts := range map[string][]Option{
		"no executor":       nil,
		"max 0":             {Executor(ex), MaxSize(0)},
		"min idle < 0":      {Executor(ex), MinIdle(-1)},
		"min idle > max":    {Executor(ex), MaxSize(2), MinIdle(3)},
		"negative lifetime": {Executor(ex), MaxLifetime(-time.Second)},
		"negative idle":     {Executor(ex), IdleTimeout(-time.Second)},
		"negative timeout":  {Executor(ex), ConnectionTimeout(-time.Second)},
		"zero sweep":        {Executor(ex), ReapInterval(0)},
		"no attempts":       {Executor(ex), Retry(0, 0, 0)},
		"backoff inverted":  {Executor(ex), Retry(2, time.Second, time.Millisecond)},
	} {
		if _, err := New[*res](m, opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := New[*res](nil, Executor(ex)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil manager: %v", err)
	}
}

func TestReleaseTwiceIgnored(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(2))
	c, _ := join(t, p.Get(context.Background()))
	c.Release()
	c.Release()
	c.Discard()
	if st := p.Stats(); st.Idle != 1 || st.Open != 1 || st.Discarded != 0 {
		t.Fatalf("stats after a double release: %+v", st)
	}
}

func TestFuncsManager(t *testing.T) {
	var closed atomic.Int64
	p, err := New[int](Funcs[int]{
		ConnectFunc: func(context.Context) (int, error) { return 42, nil },
		CloseFunc:   func(int) error { closed.Add(1); return nil },
	}, Executor(newSched(t)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := join(t, p.Get(context.Background()))
	if err != nil || c.Value() != 42 {
		t.Fatalf("Get: %v, %v", c, err)
	}
	c.Release()
	if p.check != nil || p.broken != nil {
		t.Fatal("nil Funcs hooks are called")
	}
	p.Close()
	if closed.Load() != 1 {
		t.Fatalf("closed %d", closed.Load())
	}
}

func TestFastPathAllocatesNothing(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, MaxSize(1))
	c, _ := join(t, p.Get(context.Background()))
	c.Release()
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		c, err := p.Get(ctx).Join()
		if err != nil {
			panic(err)
		}
		c.Release()
	}); n != 0 {
		t.Fatalf("Get+Join+Release from idle: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		c, _ := p.TryGet(ctx)
		c.Release()
	}); n != 0 {
		t.Fatalf("TryGet+Release: %v allocs, want 0", n)
	}
}

// asyncCounter opens resources on futures, as a weft TCP dial does.
type asyncCounter struct {
	*counter
	ex task.Executor
}

func (m asyncCounter) ConnectAsync(ctx context.Context) *task.Future[*res] {
	return task.Spawn(m.ex, func(context.Context) (*res, error) { return m.counter.Connect(ctx) }).Future()
}

func TestAsyncConnector(t *testing.T) {
	s := newSched(t)
	m := asyncCounter{newCounter(t), s}
	m.failNext.Store(1)
	p, err := New[*res](m, Executor(s), MaxSize(2), Retry(2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := join(t, p.Get(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	a.Release()
	b.Release()
	if st := p.Stats(); st.Connects != 2 || st.ConnectErrors != 1 || st.Idle != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestIdleTimeoutKeepsMinIdle(t *testing.T) {
	m := newCounter(t)
	var clock atomic.Int64
	p := newPool(t, m, MaxSize(4), MinIdle(2), IdleTimeout(time.Minute), MaxLifetime(0), ReapInterval(time.Hour), withClock(clock.Load))
	m.awaitOpened(t, 2)
	cs := make([]*Conn[*res], 4)
	for i := range cs {
		c, err := join(t, p.Get(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	for _, c := range cs {
		c.Release()
	}
	clock.Add(int64(2 * time.Minute))
	p.reap()
	if st := p.Stats(); st.Idle != 2 || st.ClosedIdle != 2 || m.open.Load() != 2 {
		t.Fatalf("after the idle sweep: %+v, manager open %d", st, m.open.Load())
	}
}

func TestBackoff(t *testing.T) {
	m := newCounter(t)
	p := newPool(t, m, Retry(10, 10*time.Millisecond, 80*time.Millisecond))
	for attempt, want := range []time.Duration{10, 20, 40, 80, 80, 80} {
		want *= time.Millisecond
		for range 20 {
			if d := p.backoff(attempt); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
