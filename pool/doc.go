// Package pool keeps reusable resources (connections to a database or another service,
// weft TCP streams in particular) for clients that make many short exchanges, on weft's
// futures. It is weft's bb8.
//
// A [Manager] says how to open and close a resource and, optionally, how to check one on
// checkout ([Checker]) and whether one coming back is broken ([BrokenChecker]). [New]
// takes a manager and options (MaxSize, MinIdle, MaxLifetime, IdleTimeout,
// ConnectionTimeout, TestOnCheckout, Retry). [TCP] is a ready manager for weft streams.
//
//	p, err := pool.New(pool.TCP(rt, addr), pool.MaxSize(8))
//	c, err := p.Get(ctx).Join()
//	if err != nil { ... }
//	defer c.Release()
//	use(c.Value())
//
// # Waiting
//
// Gets that find nothing idle queue first come, first served, and the pool opens
// resources for them in the background up to MaxSize; an open is not tied to the Get that
// caused it, so a Get that gives up never wastes it. A queued Get whose ctx ends (or that
// waits longer than ConnectionTimeout) is taken out of the queue under the same lock that
// hands resources over, so it either gets a resource or an error, never both, and no
// resource is ever left in a future nobody reads. Get's future therefore always completes
// by itself: wait for it with Join or Then. A caller that stops waiting early through
// Await with some other ctx must still Join the future later and release what it got.
//
// # The fast path allocates nothing
//
// When a resource is idle, Get returns a future that is already complete. Futures are
// one-shot, so one per Get would cost an allocation; instead each [Conn] carries one
// complete future holding itself, made once when the resource is opened, and Get returns
// that. A complete future never changes, so sharing it across checkouts is safe for every
// holder that follows the rule any pool imposes anyway: a Conn, and the future it came
// in, are not used after Release. Conn objects are likewise reused for the resource's
// life. [Pool.TryGet] is the same fast path without a future, for callers that would
// rather open or wait their own way. Only a Get that has to queue allocates (its waiter
// and its future).
//
// # Background work
//
// There is no goroutine per resource, nor per pool: MinIdle top-ups, retries with backoff
// and the idle sweep (expiry, breakage) run as tasks on the executor, driven by the
// executor's timers when it has them ([task.Timers], as *weft.Runtime does).
package pool
