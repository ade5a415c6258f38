package task

import (
	"errors"
	"sync"

	"github.com/weftrt/weft/scheduler"
)

var (
	// ErrChanClosed: Send on a closed Chan, Ring or Oneshot, or Recv once one
	// is closed and drained.
	ErrChanClosed = errors.New("task: channel closed")
	// ErrRingFull is TrySend's answer when the ring has no room.
	ErrRingFull = errors.New("task: ring full")
)

// Chan is an unbounded multi-producer multi-consumer channel. Send never
// waits. Recv hands out a future; receivers are served in the order they
// called Recv (FIFO), values in the order they were sent.
//
// Close: later Sends fail with ErrChanClosed; values already sent are still
// received; once they are gone, pending and later Recvs fail with
// ErrChanClosed. A receiver that drops its future before it resolves loses
// the value handed to it.
type Chan[T any] struct {
	s      Executor
	mu     sync.Mutex
	buf    fifo[T]
	recvq  fifo[*Future[T]] // non-empty only while buf is empty
	closed bool
	srv    *server[T] // Serve's task, if any
	srvQ   bool       // srv is queued or running
}

// NewChan returns an empty channel whose futures continue on ex.
func NewChan[T any](ex Executor) *Chan[T] { return &Chan[T]{s: ex} }

// Send queues v, or hands it to the longest-waiting receiver.
func (c *Chan[T]) Send(v T) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrChanClosed
	}
	if f, ok := c.recvq.pop(); ok {
		c.mu.Unlock()
		f.Complete(v, nil)
		return nil
	}
	c.buf.push(v)
	srv := c.kickLocked()
	c.mu.Unlock()
	if srv != nil {
		srv.wake()
	}
	return nil
}

// ErrServing: Serve on a channel that already has a server.
var ErrServing = errors.New("task: channel already served")

// serveBudget bounds the values a server handles per run, so that a busy
// channel does not monopolise a worker.
const serveBudget = 64

// server is a long-lived task consuming a channel: it is queued when a value
// arrives while it is idle, drains what is there, and goes idle again. The
// same task node is reused for every run, so serving costs no allocation per
// value.
type server[T any] struct {
	t  scheduler.Task
	c  *Chan[T]
	s  *scheduler.Scheduler
	fn func(v T, err error) bool
}

type serverRunner[T any] server[T]

func (r *serverRunner[T]) RunTask() { (*server[T])(r).run() }

func (sv *server[T]) wake() {
	if sv.s != nil {
		sv.s.Wake(&sv.t)
		return
	}
	wake(nil, &sv.t)
}

// Serve runs fn on the scheduler for every value sent on c, one call at a
// time and in order, like a task looping on Recv but without a future per
// value. Values go to pending Recv futures first. Serving ends when fn
// returns false, or when c is closed and drained: fn is then called once
// more with ErrChanClosed. A channel has at most one server (ErrServing).
func (c *Chan[T]) Serve(fn func(v T, err error) bool) error {
	sv := &server[T]{c: c, fn: fn}
	if c.s != nil {
		sv.s = c.s.Scheduler()
	}
	sv.t.Init((*serverRunner[T])(sv))
	c.mu.Lock()
	if c.srv != nil {
		c.mu.Unlock()
		return ErrServing
	}
	c.srv = sv
	kick := c.kickLocked()
	c.mu.Unlock()
	if kick != nil {
		kick.wake()
	}
	return nil
}

// kickLocked marks the server queued when it has something to do and is idle.
func (c *Chan[T]) kickLocked() *server[T] {
	if c.srv == nil || c.srvQ || (c.buf.len() == 0 && !c.closed) {
		return nil
	}
	c.srvQ = true
	return c.srv
}

func (sv *server[T]) run() {
	c := sv.c
	for i := 0; i < serveBudget; i++ {
		c.mu.Lock()
		v, ok := c.buf.pop()
		if !ok {
			if c.closed {
				c.srv, c.srvQ = nil, false
				c.mu.Unlock()
				sv.call(v, ErrChanClosed)
				return
			}
			// Idle: re-arm before a Send can see srvQ false and queue us.
			sv.t.Rearm()
			c.srvQ = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !sv.call(v, nil) {
			c.mu.Lock()
			if c.srv == sv {
				c.srv, c.srvQ = nil, false
			}
			c.mu.Unlock()
			return
		}
	}
	// Budget spent with values left: requeue behind whatever else is waiting.
	sv.t.Rearm()
	sv.wake()
}

func (sv *server[T]) call(v T, err error) (more bool) {
	defer func() {
		if p := recover(); p != nil {
			more = false
			if s := sv.s; s != nil {
				s.ReportPanic(&PanicError{Value: p, Stack: stack()})
			}
		}
	}()
	return sv.fn(v, err)
}

// Recv returns a future resolving with the next value.
func (c *Chan[T]) Recv() *Future[T] {
	c.mu.Lock()
	if v, ok := c.buf.pop(); ok {
		c.mu.Unlock()
		return Ready(v, nil)
	}
	if c.closed {
		c.mu.Unlock()
		var zero T
		return Ready(zero, ErrChanClosed)
	}
	f := NewFuture[T](c.s)
	c.recvq.push(f)
	c.mu.Unlock()
	return f
}

// TryRecv takes a value if one is buffered.
func (c *Chan[T]) TryRecv() (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.pop()
}

// Len is the number of buffered values.
func (c *Chan[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.len()
}

// Close closes the channel; closing twice is a no-op.
func (c *Chan[T]) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	waiting := c.recvq.drain()
	srv := c.kickLocked()
	c.mu.Unlock()
	var zero T
	for _, f := range waiting {
		f.Complete(zero, ErrChanClosed)
	}
	if srv != nil {
		srv.wake()
	}
}

// Ring is a bounded channel over a ring buffer. Send resolves once its value
// is in the ring (or with a receiver): when the ring is full the send waits,
// and waiting senders get in in the order they called Send (FIFO), as
// receivers are served in the order they called Recv.
//
// Close: pending and later Sends fail with ErrChanClosed (their values are
// not delivered); values already in the ring are still received; once they
// are gone, pending and later Recvs fail with ErrChanClosed.
type Ring[T any] struct {
	s      Executor
	mu     sync.Mutex
	cap    int
	buf    fifo[T]
	recvq  fifo[*Future[T]] // non-empty only while buf is empty
	sendq  fifo[pendingSend[T]]
	closed bool
}

type pendingSend[T any] struct {
	v T
	f *Future[struct{}]
}

// NewRing returns a ring holding up to capacity values; capacity < 1 means 1.
func NewRing[T any](ex Executor, capacity int) *Ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Ring[T]{s: ex, cap: capacity}
}

var sent = Ready(struct{}{}, nil)

// Send puts v in the ring, waiting for room when it is full.
func (r *Ring[T]) Send(v T) *Future[struct{}] {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return Ready(struct{}{}, ErrChanClosed)
	}
	if f, ok := r.recvq.pop(); ok {
		r.mu.Unlock()
		f.Complete(v, nil)
		return sent
	}
	if r.buf.len() < r.cap && r.sendq.len() == 0 {
		r.buf.push(v)
		r.mu.Unlock()
		return sent
	}
	f := NewFuture[struct{}](r.s)
	r.sendq.push(pendingSend[T]{v, f})
	r.mu.Unlock()
	return f
}

// TrySend puts v in the ring if there is room now: nil, ErrRingFull or ErrChanClosed.
func (r *Ring[T]) TrySend(v T) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrChanClosed
	}
	if f, ok := r.recvq.pop(); ok {
		r.mu.Unlock()
		f.Complete(v, nil)
		return nil
	}
	if r.buf.len() < r.cap && r.sendq.len() == 0 {
		r.buf.push(v)
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	return ErrRingFull
}

// Recv returns a future resolving with the next value.
func (r *Ring[T]) Recv() *Future[T] {
	r.mu.Lock()
	if v, ok := r.takeLocked(); ok {
		r.mu.Unlock()
		return Ready(v, nil)
	}
	if r.closed {
		r.mu.Unlock()
		var zero T
		return Ready(zero, ErrChanClosed)
	}
	f := NewFuture[T](r.s)
	r.recvq.push(f)
	r.mu.Unlock()
	return f
}

// TryRecv takes a value if one is there.
func (r *Ring[T]) TryRecv() (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.takeLocked()
}

// takeLocked pops a value and lets the oldest waiting sender in; the
// sender's future is completed under the lock, which is safe because
// Complete never runs continuations inline.
func (r *Ring[T]) takeLocked() (T, bool) {
	v, ok := r.buf.pop()
	if !ok {
		return v, false
	}
	if ps, ok := r.sendq.pop(); ok {
		r.buf.push(ps.v)
		ps.f.Complete(struct{}{}, nil)
	}
	return v, true
}

// Len is the number of values in the ring; Cap its capacity.
func (r *Ring[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.len()
}

// Cap is the ring's capacity.
func (r *Ring[T]) Cap() int { return r.cap }

// Close closes the ring; closing twice is a no-op.
func (r *Ring[T]) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	recvs := r.recvq.drain()
	sends := r.sendq.drain()
	r.mu.Unlock()
	var zero T
	for _, f := range recvs {
		f.Complete(zero, ErrChanClosed)
	}
	for _, ps := range sends {
		ps.f.Complete(struct{}{}, ErrChanClosed)
	}
}

// Oneshot carries a single value from one sender to a receiver.
//
// Close before Send: Recv fails with ErrChanClosed; Send after Close or a
// second Send fails with ErrChanClosed. Recv can be called any number of
// times and always returns the same future.
type Oneshot[T any] struct {
	f Future[T]
}

// NewOneshot returns an empty oneshot whose future continues on ex.
func NewOneshot[T any](ex Executor) *Oneshot[T] {
	o := &Oneshot[T]{}
	if ex != nil {
		o.f.sched = ex.Scheduler()
	}
	return o
}

// Send delivers v; only the first Send (before any Close) succeeds.
func (o *Oneshot[T]) Send(v T) error {
	if !o.f.Complete(v, nil) {
		return ErrChanClosed
	}
	return nil
}

// Recv returns the future of the value.
func (o *Oneshot[T]) Recv() *Future[T] { return &o.f }

// Close resolves a receiver still waiting with ErrChanClosed.
func (o *Oneshot[T]) Close() {
	var zero T
	o.f.Complete(zero, ErrChanClosed)
}
