package pool

import (
	"context"

	"github.com/weftrt/weft/task"
)

// Manager opens and closes the pool's resources. It is the only part a user must write;
// the optional interfaces below refine it and are found by type assertion, so a manager
// pays only for what it implements.
//
// Connect may block (a DNS look-up, a handshake): the pool runs it on the executor's
// blocking pool, never on a worker or a loop. A manager that can connect without blocking
// implements [AsyncConnector] as well, and the pool uses that instead.
type Manager[T any] interface {
	Connect(ctx context.Context) (T, error)
	// Close releases a resource the pool has given up on (broken, expired, discarded, or
	// the pool closed). It is called exactly once per resource that Connect returned.
	Close(v T) error
}

// AsyncConnector is a [Manager] that opens resources on futures, such as a weft TCP dial.
type AsyncConnector[T any] interface {
	ConnectAsync(ctx context.Context) *task.Future[T]
}

// Checker validates an idle resource as it is checked out (see [TestOnCheckout]). It runs
// inline in Get, on the caller's worker, so it must be quick and must not block: a flag
// or a non-blocking peek, not a round trip. An error discards the resource and Get moves
// on to the next idle one or opens a new one.
type Checker[T any] interface {
	Check(ctx context.Context, v T) error
}

// BrokenChecker says whether a resource coming back to the pool (or sitting idle in it)
// is broken and must be closed rather than reused. It runs with the pool's lock held
// during the idle sweep, so it must be quick and must not call into the pool.
type BrokenChecker[T any] interface {
	Broken(v T) bool
}

// ExecutorProvider is a [Manager] that knows which executor the pool should run on, so
// that New needs no [Executor] option. [TCP] implements it.
type ExecutorProvider interface {
	Executor() task.Executor
}

// Funcs is a [Manager] built from functions, for resources that do not warrant a type.
// ConnectFunc is required; the others may be nil.
type Funcs[T any] struct {
	ConnectFunc func(ctx context.Context) (T, error)
	CloseFunc   func(v T) error
	CheckFunc   func(ctx context.Context, v T) error
	BrokenFunc  func(v T) bool
}

func (f Funcs[T]) Connect(ctx context.Context) (T, error) { return f.ConnectFunc(ctx) }

func (f Funcs[T]) Close(v T) error {
	if f.CloseFunc == nil {
		return nil
	}
	return f.CloseFunc(v)
}

func (f Funcs[T]) Check(ctx context.Context, v T) error {
	if f.CheckFunc == nil {
		return nil
	}
	return f.CheckFunc(ctx, v)
}

func (f Funcs[T]) Broken(v T) bool { return f.BrokenFunc != nil && f.BrokenFunc(v) }
