package task

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrNoFutures is the error of Any over no futures.
var ErrNoFutures = errors.New("task: no futures")

func schedOf[T any](fs []*Future[T]) Executor {
	for _, f := range fs {
		if f.sched != nil {
			return f.sched
		}
	}
	return nil
}

// All resolves with every value, in argument order, once all of fs have
// succeeded, or with the first error to occur as soon as it occurs (the other
// futures are not affected). All of nothing is an empty slice.
func All[T any](fs ...*Future[T]) *Future[[]T] {
	out := NewFuture[[]T](schedOf(fs))
	if len(fs) == 0 {
		out.Complete([]T{}, nil)
		return out
	}
	vals := make([]T, len(fs))
	var left atomic.Int64
	left.Store(int64(len(fs)))
	for i, f := range fs {
		f.onDone(func() {
			if f.res != nil {
				out.complete(nil, f.res)
				return
			}
			vals[i] = f.val
			if left.Add(-1) == 0 {
				out.Complete(vals, nil)
			}
		})
	}
	return out
}

// Any resolves with the first of fs to succeed; if they all fail, with all
// their errors joined (errors.Join, in argument order). Any of nothing fails
// with ErrNoFutures.
func Any[T any](fs ...*Future[T]) *Future[T] {
	out := NewFuture[T](schedOf(fs))
	if len(fs) == 0 {
		var zero T
		out.Complete(zero, ErrNoFutures)
		return out
	}
	errs := make([]error, len(fs))
	var left atomic.Int64
	left.Store(int64(len(fs)))
	for i, f := range fs {
		f.onDone(func() {
			if f.res == nil {
				out.Complete(f.val, nil)
				return
			}
			errs[i] = f.err()
			if left.Add(-1) == 0 {
				var zero T
				out.Complete(zero, errors.Join(errs...))
			}
		})
	}
	return out
}

// Result is one finished task of a JoinSet.
type Result[T any] struct {
	Value T
	Err   error
}

// ErrJoinSetEmpty is the error of JoinSet.Next when no task is left.
var ErrJoinSetEmpty = errors.New("task: join set is empty")

// JoinSet is a group of tasks whose results are collected in completion
// order, like tokio's JoinSet. Its zero value is not usable: use NewJoinSet.
type JoinSet[T any] struct {
	ex      Executor
	mu      sync.Mutex
	handles map[*JoinHandle[T]]struct{}
	results *Chan[Result[T]]
	left    int // spawned and not yet handed out by Next
}

// NewJoinSet returns an empty set spawning on ex.
func NewJoinSet[T any](ex Executor) *JoinSet[T] {
	return &JoinSet[T]{ex: ex, handles: map[*JoinHandle[T]]struct{}{}, results: NewChan[Result[T]](ex)}
}

// Spawn adds a task to the set.
func (js *JoinSet[T]) Spawn(fn func(ctx context.Context) (T, error)) *JoinHandle[T] {
	h := Spawn(js.ex, fn)
	js.mu.Lock()
	js.handles[h] = struct{}{}
	js.left++
	js.mu.Unlock()
	h.f.onDone(func() {
		js.mu.Lock()
		delete(js.handles, h)
		js.mu.Unlock()
		_ = js.results.Send(Result[T]{h.f.val, h.f.err()})
	})
	return h
}

// Len is the number of tasks whose results Next has not handed out yet.
func (js *JoinSet[T]) Len() int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.left
}

// Next resolves with the next task to finish (its error is in Result.Err),
// or fails with ErrJoinSetEmpty when no task is left.
func (js *JoinSet[T]) Next() *Future[Result[T]] {
	js.mu.Lock()
	if js.left == 0 {
		js.mu.Unlock()
		return Ready(Result[T]{}, ErrJoinSetEmpty)
	}
	js.left--
	js.mu.Unlock()
	return js.results.Recv()
}

// Wait joins every task left and returns their values in completion order
// with the first error met (it still waits for the rest).
func (js *JoinSet[T]) Wait() ([]T, error) {
	var vals []T
	var first error
	for {
		r, err := js.Next().Join()
		if errors.Is(err, ErrJoinSetEmpty) {
			return vals, first
		}
		if r.Err != nil {
			if first == nil {
				first = r.Err
			}
			continue
		}
		vals = append(vals, r.Value)
	}
}

// CancelAll cancels every task of the set that has not finished.
func (js *JoinSet[T]) CancelAll() {
	js.mu.Lock()
	hs := make([]*JoinHandle[T], 0, len(js.handles))
	for h := range js.handles {
		hs = append(hs, h)
	}
	js.mu.Unlock()
	for _, h := range hs {
		h.Cancel()
	}
}
