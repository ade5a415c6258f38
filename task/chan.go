package task

import (
	"errors"
	"sync"
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
	c.mu.Unlock()
	return nil
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
	c.mu.Unlock()
	var zero T
	for _, f := range waiting {
		f.Complete(zero, ErrChanClosed)
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
