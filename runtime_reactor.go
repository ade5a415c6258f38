package weft

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft/reactor"
)

// Loops sets the number of reactor event loops; the default (and n < 1) is
// GOMAXPROCS.
func Loops(n int) Option {
	if n < 0 {
		n = 0
	}
	return func(c *config) { c.reactor = append(c.reactor, reactor.Loops(n)) }
}

// Balancer chooses how accepted connections are spread over the loops:
// reactor.RoundRobin() (default), reactor.LeastConnections() or
// reactor.SourceHash().
func Balancer(b reactor.Balancer) Option {
	return func(c *config) { c.reactor = append(c.reactor, reactor.WithBalancer(b)) }
}

// ReusePort gives every loop its own SO_REUSEPORT listener, so the kernel
// spreads connections and no acceptor goroutine runs.
func ReusePort(on bool) Option {
	return func(c *config) { c.reactor = append(c.reactor, reactor.ReusePort(on)) }
}

// reactorPart is the Runtime's share of the reactor: the Group and the timers
// handed out by AfterFunc.
type reactorPart struct {
	group *reactor.Group

	// Timers given out by AfterFunc that have not fired or stopped. Closing
	// the Group drops the loops' timer heaps, so Close moves these onto the
	// time package: a task sleeping across rt.Close still wakes at its time
	// instead of never.
	tmu     sync.Mutex
	timers  map[*rtTimer]struct{}
	tclosed bool

	hmu     sync.Mutex
	hooks   map[*func()]struct{}
	hclosed bool
}

// OnClose registers fn to run when Close begins, before the reactor stops.
// It is for layers that hold what the reactor does not own, such as a socket
// whose connect is still in flight. The returned func unregisters fn. After
// Close has begun, fn runs at once.
func (rt *Runtime) OnClose(fn func()) (remove func()) {
	rt.hmu.Lock()
	if rt.hclosed {
		rt.hmu.Unlock()
		fn()
		return func() {}
	}
	if rt.hooks == nil {
		rt.hooks = make(map[*func()]struct{})
	}
	key := &fn
	rt.hooks[key] = struct{}{}
	rt.hmu.Unlock()
	return func() {
		rt.hmu.Lock()
		delete(rt.hooks, key)
		rt.hmu.Unlock()
	}
}

func (rt *Runtime) runCloseHooks() {
	rt.hmu.Lock()
	rt.hclosed = true
	hooks := rt.hooks
	rt.hooks = nil
	rt.hmu.Unlock()
	for fn := range hooks {
		(*fn)()
	}
}

// startReactor runs in New. Without epoll (ErrUnsupported) the runtime still
// works as a scheduler, Reactor returns nil, and timers use the time package.
func (rt *Runtime) startReactor(opts []reactor.Option) error {
	rt.timers = make(map[*rtTimer]struct{})
	g, err := reactor.NewGroup(opts...)
	if errors.Is(err, reactor.ErrUnsupported) {
		rt.tclosed = true
		return nil
	}
	if err != nil {
		return err
	}
	rt.group = g
	return nil
}

// closeReactor runs in Close before the scheduler stops: closing connections
// completes the futures that tasks wait on, so the tasks can finish.
func (rt *Runtime) closeReactor() error {
	rt.runCloseHooks()
	var err error
	if rt.group != nil {
		err = rt.group.Close()
	}
	rt.tmu.Lock()
	rt.tclosed = true
	for t := range rt.timers {
		t.std = time.AfterFunc(time.Until(t.when), t.fire)
	}
	rt.tmu.Unlock()
	return err
}

// Reactor returns the runtime's reactor Group (nil where epoll is missing).
func (rt *Runtime) Reactor() *reactor.Group { return rt.group }

type rtTimer struct {
	rt    *Runtime
	fn    func()
	when  time.Time
	state atomic.Int32 // 0 pending, 1 fired, 2 stopped
	lt    *reactor.Timer
	std   *time.Timer // after the reactor closed
}

// AfterFunc runs fn after d on one of the loops' timers (fn runs on that loop,
// so it must be short: complete a future, hand off to the scheduler). stop
// cancels it and reports whether it did so before fn ran. This makes *Runtime
// a task.Timers: task.Sleep, After, Timeout and tickers use it. After Close,
// fn runs on the time package's goroutine instead.
func (rt *Runtime) AfterFunc(d time.Duration, fn func()) (stop func() bool) {
	t := &rtTimer{rt: rt, fn: fn, when: time.Now().Add(d)}
	rt.tmu.Lock()
	if rt.tclosed {
		t.std = time.AfterFunc(d, t.fire)
	} else {
		rt.timers[t] = struct{}{}
		// Loop.AfterFunc only queues the timer, so holding tmu here cannot
		// deadlock with a loop that is firing another timer.
		t.lt = rt.group.Next().AfterFunc(d, t.fire)
	}
	rt.tmu.Unlock()
	return t.stop
}

func (t *rtTimer) fire() {
	if !t.state.CompareAndSwap(0, 1) {
		return
	}
	t.rt.tmu.Lock()
	delete(t.rt.timers, t)
	t.rt.tmu.Unlock()
	t.fn()
}

func (t *rtTimer) stop() bool {
	if !t.state.CompareAndSwap(0, 2) {
		return false
	}
	t.rt.tmu.Lock()
	delete(t.rt.timers, t)
	lt, std := t.lt, t.std
	t.rt.tmu.Unlock()
	if lt != nil {
		lt.Stop()
	}
	if std != nil {
		std.Stop()
	}
	return true
}
