package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/weftrt/weft/task"
)

var (
	// ErrClosed is returned by Get on a closed pool and completes every Get still waiting
	// when Close is called.
	ErrClosed = errors.New("pool: closed")
	// ErrTimeout completes a Get that waited longer than ConnectionTimeout. It matches
	// context.DeadlineExceeded under errors.Is.
	ErrTimeout error = timeoutError{}
	// ErrInvalidOption is wrapped by New's error for a nil manager, a missing executor or
	// an out-of-range option.
	ErrInvalidOption = errors.New("pool: invalid option")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "pool: timed out waiting for a resource" }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
func (timeoutError) Timeout() bool        { return true }

// Why a resource left the pool; indexes Stats counters.
type reason uint8

const (
	keep reason = iota
	retiredBroken
	retiredLifetime
	retiredIdle
	retiredDiscarded
	retiredClosed
	nReasons
)

// Pool hands out reusable resources of type T. All methods are safe for concurrent use.
type Pool[T any] struct {
	m      Manager[T]
	async  AsyncConnector[T]
	check  Checker[T] // nil unless the manager has one and TestOnCheckout is on
	broken BrokenChecker[T]
	ex     task.Executor
	timers task.Timers
	cfg    config
	timed  bool // lifetimes or idle timeouts are enforced, so checkouts need the clock

	ctx    context.Context // cancelled by Close: aborts opens in flight
	cancel context.CancelFunc
	epoch  time.Time
	clock  func() int64 // tests only: replaces the monotonic clock

	mu         sync.Mutex
	closed     bool
	idle       []*Conn[T] // a stack: the most recently used resource goes out first
	waiters    waitList[T]
	open       int // idle + checked out
	connecting int // opens in flight, retries included
	reapStop   func() bool
	expiring   bool // a timer will fail the waiters past ConnectionTimeout
	expireStop func() bool
	unhook     func() // drops the runtime's close hook
	st         counters
}

type counters struct {
	gets, waited, canceled, timedOut, connects, connectErrors uint64
	waitTime                                                  time.Duration
	retired                                                   [nReasons]uint64
}

// Stats is a snapshot of a pool's state and its counters since New.
type Stats struct {
	MaxSize    int
	Open       int // idle + in use
	Idle       int
	InUse      int
	Connecting int // opens in flight
	Waiting    int // Gets queued for a resource

	Gets          uint64        // resources handed out
	Waited        uint64        // of those, how many had to queue
	WaitTime      time.Duration // total time queued Gets waited
	Canceled      uint64        // queued Gets whose ctx ended first
	TimedOut      uint64        // queued Gets that hit ConnectionTimeout
	Connects      uint64        // resources opened
	ConnectErrors uint64        // failed attempts to open one, retries included

	ClosedBroken   uint64 // broken on return, on checkout or in the idle sweep
	ClosedLifetime uint64 // past MaxLifetime
	ClosedIdle     uint64 // past IdleTimeout
	Discarded      uint64 // by Conn.Discard
}

// New makes a pool of resources opened by m. It opens MinIdle resources in the
// background and returns at once.
func New[T any](m Manager[T], opts ...Option) (*Pool[T], error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil manager", ErrInvalidOption)
	}
	cfg := defaults()
	if ep, ok := m.(ExecutorProvider); ok {
		cfg.ex = ep.Executor()
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool[T]{m: m, ex: cfg.ex, cfg: cfg, epoch: time.Now(), clock: cfg.clock}
	p.timed = cfg.maxLifetime > 0 || cfg.idleTimeout > 0
	p.async, _ = m.(AsyncConnector[T])
	if ch, ok := m.(Checker[T]); ok && cfg.testOnCheckout {
		p.check = ch
	}
	p.broken, _ = m.(BrokenChecker[T])
	if f, ok := m.(Funcs[T]); ok { // nil funcs cost nothing rather than a call per checkout
		if f.CheckFunc == nil {
			p.check = nil
		}
		if f.BrokenFunc == nil {
			p.broken = nil
		}
	}
	p.timers, _ = cfg.ex.(task.Timers)
	p.ctx, p.cancel = context.WithCancel(context.Background())

	p.mu.Lock()
	n := p.wantLocked(true)
	p.connecting += n
	if p.sweeps() {
		p.reapStop = p.afterFunc(p.cfg.reapInterval, p.reapTick)
	}
	p.mu.Unlock()
	p.startConnects(n)

	// A pool on a *weft.Runtime closes with it: its queued Gets would otherwise wait on
	// a scheduler that no longer runs anything.
	if oc, ok := cfg.ex.(interface{ OnClose(func()) (remove func()) }); ok {
		unhook := oc.OnClose(func() { p.Close() }) // runs at once if rt is closing already
		p.mu.Lock()
		p.unhook = unhook
		closed := p.closed
		p.mu.Unlock()
		if closed {
			unhook()
		}
	}
	return p, nil
}

func (c *config) validate() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrInvalidOption, what) }
	switch {
	case c.ex == nil:
		return bad("no executor (use pool.Executor)")
	case c.maxSize < 1:
		return bad("MaxSize < 1")
	case c.minIdle < 0 || c.minIdle > c.maxSize:
		return bad("MinIdle outside [0, MaxSize]")
	case c.maxLifetime < 0, c.idleTimeout < 0, c.connTimeout < 0:
		return bad("negative duration")
	case c.reapInterval <= 0:
		return bad("ReapInterval <= 0")
	case c.attempts < 1:
		return bad("Retry attempts < 1")
	case c.backoffMin < 0 || c.backoffMax < c.backoffMin:
		return bad("Retry backoff outside 0 <= min <= max")
	}
	// A sweep slower than the limits it enforces would let resources outlive them by
	// far more than the limits themselves.
	for _, d := range []time.Duration{c.idleTimeout, c.maxLifetime} {
		if d > 0 && d/2 < c.reapInterval {
			c.reapInterval = max(d/2, time.Millisecond)
		}
	}
	return nil
}

// sweeps says whether the pool has anything for a periodic idle sweep to do.
func (p *Pool[T]) sweeps() bool {
	return p.timed || p.cfg.minIdle > 0 || p.broken != nil
}

func (p *Pool[T]) now() int64 {
	if p.clock != nil {
		return p.clock()
	}
	// time.Since on a monotonic epoch reads only the monotonic clock: cheaper than Now.
	return int64(time.Since(p.epoch))
}

func (p *Pool[T]) afterFunc(d time.Duration, fn func()) (stop func() bool) {
	if p.timers != nil {
		return p.timers.AfterFunc(d, fn)
	}
	return time.AfterFunc(d, fn).Stop
}

// Get checks out a resource. When one is idle the returned future is already complete
// and nothing is allocated (see the package doc for why that future is shared). Otherwise
// the Get queues, first come first served, and a new resource is opened if MaxSize
// allows.
//
// The future always completes on its own: with a resource, or with ctx's cause when ctx
// ends first, ErrTimeout after ConnectionTimeout, ErrClosed on Close, or the error that
// opening a resource ended with. Wait for it with Join or Then; a waiter that gives up
// through another ctx (Await) must still Join the future and release what it holds.
func (p *Pool[T]) Get(ctx context.Context) *task.Future[*Conn[T]] {
	if err := ctx.Err(); err != nil {
		return task.Ready[*Conn[T]](nil, context.Cause(ctx))
	}
	now := p.checkoutNow()
	p.mu.Lock()
	if c := p.takeIdle(ctx, now); c != nil {
		return c.ready
	}
	if p.closed {
		p.mu.Unlock()
		return task.Ready[*Conn[T]](nil, ErrClosed)
	}
	return p.enqueue(ctx)
}

// TryGet checks out an idle resource if there is one, without queueing, opening one or
// allocating. ok is false if none is idle or the pool is closed.
func (p *Pool[T]) TryGet(ctx context.Context) (c *Conn[T], ok bool) {
	now := p.checkoutNow()
	p.mu.Lock()
	if c = p.takeIdle(ctx, now); c != nil {
		return c, true
	}
	p.mu.Unlock()
	return nil, false
}

// checkoutNow reads the clock for takeIdle's lifetime check, before the lock is taken so
// that the critical section stays short.
func (p *Pool[T]) checkoutNow() int64 {
	if p.cfg.maxLifetime > 0 {
		return p.now()
	}
	return 0
}

// takeIdle is called with p.mu held. It returns a checked-out resource with p.mu
// released, or nil with p.mu still held. Resources found expired or failing the check are
// closed on the way.
func (p *Pool[T]) takeIdle(ctx context.Context, now int64) *Conn[T] {
	retired := false
	for len(p.idle) > 0 && !p.closed {
		i := len(p.idle) - 1
		c := p.idle[i]
		p.idle[i] = nil
		p.idle = p.idle[:i]
		if p.cfg.maxLifetime > 0 && now-c.created >= int64(p.cfg.maxLifetime) {
			p.dropLocked(c, retiredLifetime)
			p.mu.Unlock()
			p.closeRes(c)
			retired = true
			p.mu.Lock()
			continue
		}
		c.state = stateOut
		p.st.gets++
		p.mu.Unlock()
		if p.check == nil || p.check.Check(ctx, c.v) == nil {
			if retired {
				p.refill()
			}
			return c
		}
		p.mu.Lock()
		p.st.gets--
		p.dropLocked(c, retiredBroken)
		p.mu.Unlock()
		p.closeRes(c)
		retired = true
		p.mu.Lock()
	}
	// The caller queues next, and queueing opens what the pool lacks.
	return nil
}

// enqueue is called with p.mu held and releases it.
func (p *Pool[T]) enqueue(ctx context.Context) *task.Future[*Conn[T]] {
	w := &waiter[T]{f: task.NewFuture[*Conn[T]](p.ex), since: p.now()}
	// Armed under the lock so that whoever dequeues w sees stopCtx. It cannot call back
	// synchronously: context.AfterFunc runs its function in a new goroutine even for a
	// ctx that is already done.
	if ctx.Done() != nil {
		w.stopCtx = context.AfterFunc(ctx, func() { p.abandon(w, context.Cause(ctx)) })
	}
	p.waiters.push(w)
	if p.cfg.connTimeout > 0 && !p.expiring {
		// Every waiter has the same timeout and the queue is FIFO, so deadlines grow
		// from head to tail: one timer for the head serves the whole queue, and a
		// queued Get costs no timer of its own.
		p.expiring = true
		p.expireStop = p.afterFunc(p.cfg.connTimeout, p.expireTick)
	}
	n := p.wantLocked(true)
	p.connecting += n
	p.mu.Unlock()
	p.startConnects(n)
	return w.f
}

// expireTick fails the waiters that have waited ConnectionTimeout, then re-arms for the
// new head. It may run on a reactor loop: it only takes the lock and completes futures,
// which never block.
func (p *Pool[T]) expireTick() {
	now := p.now()
	d := int64(p.cfg.connTimeout)
	var late []*waiter[T]
	p.mu.Lock()
	p.expiring = false
	for w := p.waiters.head; w != nil && now-w.since >= d; w = p.waiters.head {
		p.waiters.remove(w)
		p.st.timedOut++
		late = append(late, w)
	}
	if h := p.waiters.head; h != nil && !p.closed {
		p.expiring = true
		p.expireStop = p.afterFunc(time.Duration(h.since+d-now), p.expireTick)
	}
	p.mu.Unlock()
	for _, w := range late {
		w.detach()
		w.f.Complete(nil, ErrTimeout)
	}
}

// abandon takes w out of the queue when its ctx or its timeout ends first. Handing off
// and abandoning both dequeue under p.mu, so exactly one of them completes w's future: a
// resource is never put in a future nobody waits for.
func (p *Pool[T]) abandon(w *waiter[T], err error) {
	p.mu.Lock()
	if !w.queued {
		p.mu.Unlock()
		return
	}
	p.waiters.remove(w)
	p.st.canceled++
	p.mu.Unlock()
	w.detach()
	w.f.Complete(nil, err)
}

// put gives an open resource that nobody holds to the oldest waiter, or makes it idle.
// Called with p.mu held; releases it.
func (p *Pool[T]) put(c *Conn[T]) {
	for {
		w := p.waiters.pop()
		if w == nil {
			c.state = stateIdle
			p.idle = append(p.idle, c)
			p.mu.Unlock()
			return
		}
		c.state = stateOut
		waited := time.Duration(p.now() - w.since)
		p.st.gets++
		p.st.waited++
		p.st.waitTime += waited
		p.mu.Unlock()
		w.detach()
		if w.f.Complete(c, nil) {
			return
		}
		// Someone completed the future behind the pool's back; the next waiter gets c.
		p.mu.Lock()
		p.st.gets--
		p.st.waited--
		p.st.waitTime -= waited
		if p.closed {
			p.retire(c, retiredClosed)
			return
		}
	}
}

// dropLocked forgets a resource the pool will close; p.mu is held.
func (p *Pool[T]) dropLocked(c *Conn[T], r reason) {
	c.state = stateClosed
	p.open--
	p.st.retired[r]++
}

// retire closes a resource and opens what the pool then lacks. Called with p.mu held;
// releases it.
func (p *Pool[T]) retire(c *Conn[T], r reason) {
	p.dropLocked(c, r)
	n := p.wantLocked(true)
	p.connecting += n
	p.mu.Unlock()
	p.closeRes(c)
	p.startConnects(n)
}

func (p *Pool[T]) closeRes(c *Conn[T]) {
	_ = p.m.Close(c.v)
	var zero T
	c.v = zero // a stale Conn must not keep the resource reachable
}

// refill opens what the pool lacks after resources were closed outside retire.
func (p *Pool[T]) refill() {
	p.mu.Lock()
	n := p.wantLocked(true)
	p.connecting += n
	p.mu.Unlock()
	p.startConnects(n)
}

// wantLocked is how many opens to start now: one per waiter that no open in flight will
// serve, plus (with idleToo) enough to bring idle resources up to MinIdle, within MaxSize.
// The caller adds the result to p.connecting before releasing p.mu.
func (p *Pool[T]) wantLocked(idleToo bool) int {
	if p.closed {
		return 0
	}
	need := p.waiters.n
	if idleToo && len(p.idle) < p.cfg.minIdle {
		need += p.cfg.minIdle - len(p.idle)
	}
	need -= p.connecting
	return max(0, min(need, p.cfg.maxSize-p.open-p.connecting))
}

func (p *Pool[T]) startConnects(n int) {
	for range n {
		p.connect(0)
	}
}

// connect makes one attempt to open a resource; its outcome goes to connected, which
// retries. An open is never tied to the waiter that caused it: whoever is first in the
// queue when it succeeds gets it, and if nobody is, it goes idle.
func (p *Pool[T]) connect(attempt int) {
	ctx, cancel := p.ctx, context.CancelFunc(func() {})
	if d := p.cfg.connTimeout; d > 0 {
		ctx, cancel = context.WithTimeout(p.ctx, d)
	}
	done := func(v T, err error) {
		cancel()
		p.connected(v, err, attempt)
	}
	if p.async != nil {
		if f := p.async.ConnectAsync(ctx); f != nil {
			f.Then(done)
			return
		}
		var zero T
		done(zero, errors.New("pool: ConnectAsync returned a nil future"))
		return
	}
	task.SpawnBlocking(p.ex, func(context.Context) (T, error) { return p.m.Connect(ctx) }).Then(done)
}

func (p *Pool[T]) connected(v T, err error, attempt int) {
	p.mu.Lock()
	if err != nil {
		p.st.connectErrors++
		if !p.closed && attempt+1 < p.cfg.attempts {
			p.mu.Unlock()
			p.afterFunc(p.backoff(attempt), func() {
				// Closed meanwhile: the executor may be gone too, so do not use it.
				p.mu.Lock()
				closed := p.closed
				if closed {
					p.connecting--
				}
				p.mu.Unlock()
				if !closed {
					p.ex.Scheduler().Go(func() { p.connect(attempt + 1) })
				}
			})
			return
		}
		p.connecting--
		// The oldest waiter learns why; the others keep waiting on opens that may still
		// succeed. A MinIdle top-up that failed waits for the next sweep rather than
		// hammering a peer that is down.
		w := p.waiters.pop()
		n := p.wantLocked(false)
		p.connecting += n
		p.mu.Unlock()
		if w != nil {
			w.detach()
			w.f.Complete(nil, fmt.Errorf("pool: opening a resource: %w", err))
		}
		p.startConnects(n)
		return
	}
	p.connecting--
	p.st.connects++
	if p.closed {
		p.mu.Unlock()
		_ = p.m.Close(v)
		return
	}
	c := &Conn[T]{p: p, v: v}
	c.created = p.now()
	c.idleSince = c.created
	c.ready = task.Ready(c, nil)
	p.open++
	p.put(c)
}

// backoff is the wait before retry attempt+1: exponential, capped, with half of it
// jittered so that a pool's opens do not retry in lockstep against a recovering peer.
func (p *Pool[T]) backoff(attempt int) time.Duration {
	d := p.cfg.backoffMin
	for range attempt {
		if d >= p.cfg.backoffMax/2 {
			d = p.cfg.backoffMax
			break
		}
		d *= 2
	}
	d = min(d, p.cfg.backoffMax)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// reapTick runs on a timer, possibly on a reactor loop: the sweep itself closes
// resources, which may block, so it goes to the scheduler.
func (p *Pool[T]) reapTick() {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !closed { // a tick that raced Close must not touch an executor that may be gone
		p.ex.Scheduler().Go(p.reap)
	}
}

// reap closes idle resources that are past their lifetime, idle too long (down to
// MinIdle) or broken, tops idle resources up to MinIdle and schedules the next sweep.
func (p *Pool[T]) reap() {
	now := p.now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	var victims []*Conn[T]
	kept := p.idle[:0]
	left := len(p.idle)
	for _, c := range p.idle { // oldest idle first
		r := keep
		switch {
		case p.cfg.maxLifetime > 0 && now-c.created >= int64(p.cfg.maxLifetime):
			r = retiredLifetime
		case p.broken != nil && p.broken.Broken(c.v):
			r = retiredBroken
		case p.cfg.idleTimeout > 0 && now-c.idleSince >= int64(p.cfg.idleTimeout) && left > p.cfg.minIdle:
			r = retiredIdle
		}
		if r == keep {
			kept = append(kept, c)
			continue
		}
		left--
		p.dropLocked(c, r)
		victims = append(victims, c)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	n := p.wantLocked(true)
	p.connecting += n
	p.reapStop = p.afterFunc(p.cfg.reapInterval, p.reapTick)
	p.mu.Unlock()
	for _, c := range victims {
		p.closeRes(c)
	}
	p.startConnects(n)
}

// Close closes idle resources, fails queued Gets with ErrClosed and stops opening new
// resources. Resources checked out are closed when released, and resources whose open
// is in flight are closed when it completes; Close does not wait for either. It returns
// what closing the idle resources returned; later calls return nil.
func (p *Pool[T]) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	for _, c := range idle {
		p.dropLocked(c, retiredClosed)
	}
	var ws []*waiter[T]
	for w := p.waiters.pop(); w != nil; w = p.waiters.pop() {
		ws = append(ws, w)
	}
	stops := []func() bool{p.reapStop, p.expireStop}
	unhook := p.unhook
	p.mu.Unlock()

	if unhook != nil {
		unhook()
	}
	p.cancel()
	for _, stop := range stops {
		if stop != nil {
			stop()
		}
	}
	for _, w := range ws {
		w.detach()
		w.f.Complete(nil, ErrClosed)
	}
	var errs []error
	for _, c := range idle {
		errs = append(errs, p.m.Close(c.v))
	}
	return errors.Join(errs...)
}

// Stats returns a consistent snapshot.
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		MaxSize:        p.cfg.maxSize,
		Open:           p.open,
		Idle:           len(p.idle),
		InUse:          p.open - len(p.idle),
		Connecting:     p.connecting,
		Waiting:        p.waiters.n,
		Gets:           p.st.gets,
		Waited:         p.st.waited,
		WaitTime:       p.st.waitTime,
		Canceled:       p.st.canceled,
		TimedOut:       p.st.timedOut,
		Connects:       p.st.connects,
		ConnectErrors:  p.st.connectErrors,
		ClosedBroken:   p.st.retired[retiredBroken],
		ClosedLifetime: p.st.retired[retiredLifetime],
		ClosedIdle:     p.st.retired[retiredIdle],
		Discarded:      p.st.retired[retiredDiscarded],
	}
}
