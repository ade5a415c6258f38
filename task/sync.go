package task

import (
	"errors"
	"sync"
)

var (
	// ErrLockClosed: Lock or Acquire on a closed Mutex or Semaphore, or one
	// that was waiting when Close came.
	ErrLockClosed = errors.New("task: lock closed")
	// ErrNotLocked: Unlock of a Mutex that is not locked, or Release of more
	// than was acquired.
	ErrNotLocked = errors.New("task: not locked")
	// ErrBadWeight: Acquire of a negative weight or of more than the
	// semaphore's capacity, which could never succeed.
	ErrBadWeight = errors.New("task: bad semaphore weight")
)

var unit = Ready(struct{}{}, nil)

// Mutex is an async mutual-exclusion lock: Lock hands out a future that
// resolves when the caller holds the lock. It is strictly FIFO: Unlock passes
// the lock straight to the longest waiter, and TryLock does not barge past
// waiters. A future that resolves while nobody joins it still holds the lock.
//
// Close: waiting and later Locks fail with ErrLockClosed; a holder can still Unlock.
type Mutex struct {
	s      Executor
	mu     sync.Mutex
	locked bool
	q      fifo[*Future[struct{}]]
	closed bool
}

// NewMutex returns an unlocked mutex whose futures continue on ex.
func NewMutex(ex Executor) *Mutex { return &Mutex{s: ex} }

// Lock resolves when the caller holds the lock.
func (m *Mutex) Lock() *Future[struct{}] {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Ready(struct{}{}, ErrLockClosed)
	}
	if !m.locked {
		m.locked = true
		m.mu.Unlock()
		return unit
	}
	f := NewFuture[struct{}](m.s)
	m.q.push(f)
	m.mu.Unlock()
	return f
}

// TryLock takes the lock if it is free and nobody waits.
func (m *Mutex) TryLock() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.locked {
		return false
	}
	m.locked = true
	return true
}

// Unlock releases the lock, or hands it to the next waiter.
func (m *Mutex) Unlock() error {
	m.mu.Lock()
	if !m.locked {
		m.mu.Unlock()
		return ErrNotLocked
	}
	if f, ok := m.q.pop(); ok {
		m.mu.Unlock()
		f.Complete(struct{}{}, nil) // ownership passes; locked stays true
		return nil
	}
	m.locked = false
	m.mu.Unlock()
	return nil
}

// Close fails every waiter and every later Lock.
func (m *Mutex) Close() {
	m.mu.Lock()
	m.closed = true
	waiting := m.q.drain()
	m.mu.Unlock()
	for _, f := range waiting {
		f.Complete(struct{}{}, ErrLockClosed)
	}
}

// Semaphore is an async weighted semaphore. Acquire hands out a future that
// resolves when the weight is granted. It is strictly FIFO: a large request at
// the head of the queue holds back smaller ones behind it (no starvation of
// large requests), and TryAcquire does not barge past waiters.
//
// Close: waiting and later Acquires fail with ErrLockClosed; holders can
// still Release.
type Semaphore struct {
	s      Executor
	mu     sync.Mutex
	size   int64
	cur    int64
	q      fifo[semWaiter]
	closed bool
}

type semWaiter struct {
	n int64
	f *Future[struct{}]
}

// NewSemaphore returns a semaphore of capacity n (n < 0 means 0) whose
// futures continue on ex.
func NewSemaphore(ex Executor, n int64) *Semaphore {
	return &Semaphore{s: ex, size: max(n, 0)}
}

// Acquire resolves when n units are held by the caller.
func (s *Semaphore) Acquire(n int64) *Future[struct{}] {
	if n < 0 || n > s.size {
		return Ready(struct{}{}, ErrBadWeight)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Ready(struct{}{}, ErrLockClosed)
	}
	if s.q.len() == 0 && s.size-s.cur >= n {
		s.cur += n
		s.mu.Unlock()
		return unit
	}
	f := NewFuture[struct{}](s.s)
	s.q.push(semWaiter{n, f})
	s.mu.Unlock()
	return f
}

// TryAcquire takes n units if they are free and nobody waits.
func (s *Semaphore) TryAcquire(n int64) bool {
	if n < 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.q.len() != 0 || s.size-s.cur < n {
		return false
	}
	s.cur += n
	return true
}

// Release returns n units and grants waiters, in order, while they fit.
func (s *Semaphore) Release(n int64) error {
	s.mu.Lock()
	if n < 0 || n > s.cur {
		s.mu.Unlock()
		return ErrNotLocked
	}
	s.cur -= n
	var grant []*Future[struct{}]
	for s.q.len() > 0 {
		w := s.q.peek()
		if s.size-s.cur < w.n {
			break
		}
		s.q.pop()
		s.cur += w.n
		grant = append(grant, w.f)
	}
	s.mu.Unlock()
	for _, f := range grant {
		f.Complete(struct{}{}, nil)
	}
	return nil
}

// Available is the number of free units.
func (s *Semaphore) Available() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size - s.cur
}

// Close fails every waiter and every later Acquire.
func (s *Semaphore) Close() {
	s.mu.Lock()
	s.closed = true
	waiting := s.q.drain()
	s.mu.Unlock()
	for _, w := range waiting {
		w.f.Complete(struct{}{}, ErrLockClosed)
	}
}
