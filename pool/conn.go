package pool

import "github.com/weftrt/weft/task"

type state uint8

const (
	stateIdle state = iota
	stateOut
	stateClosed
)

// Conn is a checked-out resource. One Conn lives as long as its resource and is handed
// out again after each Release, which is what lets Get allocate nothing: so a Conn (and
// the future Get returned it in) must not be used after Release or Discard. A second
// Release or Discard is ignored, as long as nobody has checked the resource out again.
type Conn[T any] struct {
	p         *Pool[T]
	v         T
	ready     *task.Future[*Conn[T]] // complete from birth; what Get returns on the fast path
	created   int64
	idleSince int64
	state     state // guarded by p.mu
}

// Value is the resource.
func (c *Conn[T]) Value() T { return c.v }

// Release gives the resource back: to the oldest waiting Get, or to the idle set. A
// resource the manager reports broken, one past MaxLifetime, or one released after Close
// is closed instead.
func (c *Conn[T]) Release() {
	p := c.p
	var now int64
	if p.timed {
		now = p.now()
	}
	broken := p.broken != nil && p.broken.Broken(c.v)
	p.mu.Lock()
	if c.state != stateOut {
		p.mu.Unlock()
		return
	}
	switch {
	case p.closed:
		p.retire(c, retiredClosed)
	case broken:
		p.retire(c, retiredBroken)
	case p.cfg.maxLifetime > 0 && now-c.created >= int64(p.cfg.maxLifetime):
		p.retire(c, retiredLifetime)
	default:
		c.idleSince = now
		p.put(c)
	}
}

// Discard closes the resource instead of reusing it, for a caller that knows it is
// spoilt (a protocol error, a half-read reply). The pool opens a replacement if a Get
// is waiting or MinIdle asks for one.
func (c *Conn[T]) Discard() {
	p := c.p
	p.mu.Lock()
	if c.state != stateOut {
		p.mu.Unlock()
		return
	}
	p.retire(c, retiredDiscarded)
}
