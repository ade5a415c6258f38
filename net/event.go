package net

import "github.com/weftrt/weft/reactor"

// Handler is the event face: its methods run on the stream's own loop, one
// at a time per loop, so they must not block. Hand slow work to the scheduler
// with Stream.Offload.
type Handler interface {
	// OnOpen runs once when the connection is established.
	OnOpen(s *Stream)
	// OnData gets the inbound bytes without a copy: in is the loop's buffer
	// and is valid only during the call. It returns how many bytes it
	// consumed; the rest is offered again, with what arrives next, on the
	// next call.
	OnData(s *Stream, in []byte) (consumed int)
	// OnClose runs once after the fd is closed. err is nil after a local
	// Close, io.EOF after the peer closed, or the socket error.
	OnClose(s *Stream, err error)
}

// ReadEOFHandler is optional on a Handler: OnReadEOF runs on the loop when
// the peer half-closes. Returning true keeps the stream open for writing
// until the handler calls Close or CloseWrite; false (or not implementing
// it) flushes queued output and closes, and OnClose gets io.EOF.
type ReadEOFHandler interface {
	OnReadEOF(s *Stream) (keepWriting bool)
}

// HandlerFuncs adapts plain functions to a Handler; nil fields do nothing
// (a nil Data consumes everything).
type HandlerFuncs struct {
	Open  func(s *Stream)
	Data  func(s *Stream, in []byte) int
	Close func(s *Stream, err error)
}

func (h HandlerFuncs) OnOpen(s *Stream) {
	if h.Open != nil {
		h.Open(s)
	}
}

func (h HandlerFuncs) OnData(s *Stream, in []byte) int {
	if h.Data != nil {
		return h.Data(s, in)
	}
	return len(in)
}

func (h HandlerFuncs) OnClose(s *Stream, err error) {
	if h.Close != nil {
		h.Close(s, err)
	}
}

// Send queues p on the connection's outbound buffer; the loop flushes it at
// the end of the turn with one writev. It copies p, so the caller keeps it.
// Loop-only: call it from the Handler's callbacks. From elsewhere use Post.
func (s *Stream) Send(p []byte) error {
	if !s.loop.InLoop() {
		return ErrNotOnLoop
	}
	prev := s.busy
	s.busy = true
	s.mu.Lock()
	err := s.writeErrLocked(false)
	if err == nil && len(s.stage) > 0 {
		s.flushLocked() // bytes posted from elsewhere go first
	}
	if err == nil && s.writes.len() == 0 {
		// Nothing queued ahead of it: straight into the outbound buffer.
		_, err = s.conn.Write(p)
		s.outSnap = s.conn.Buffered()
	} else if err == nil {
		b := make([]byte, len(p))
		copy(b, p)
		s.writes.push(writeReq{p: b, all: true})
	}
	s.mu.Unlock()
	s.busy = prev
	s.afterBusy()
	return err
}

// Post queues p for writing from any goroutine; the stream owns p from then
// on. Bytes from Post, Send, Write and Offload go out in the order the calls
// were made.
func (s *Stream) Post(p []byte) error {
	_, err := s.enqueue(p, true, false)
	return err
}

type offSlot struct {
	out  []byte
	done bool
}

// Offload runs fn as a task on the scheduler and writes the bytes it returns
// back on the stream. Answers go out in the order Offload was called, which is
// what a pipelined protocol needs, whatever order the tasks finish in. Safe
// from any goroutine, the loop included.
func (s *Stream) Offload(fn func() []byte) {
	slot := &offSlot{}
	s.mu.Lock()
	s.offq = append(s.offq, slot)
	s.mu.Unlock()
	s.rt.Scheduler().Go(func() {
		out := fn()
		s.mu.Lock()
		slot.out, slot.done = out, true
		kick := false
		for len(s.offq) > 0 && s.offq[0].done {
			o := s.offq[0]
			s.offq[0] = nil
			s.offq = s.offq[1:]
			if len(o.out) > 0 && s.writeErrLocked(false) == nil {
				s.writes.push(writeReq{p: o.out, all: true})
				kick = s.kickLocked() || kick
			}
		}
		s.mu.Unlock()
		if kick {
			s.submit()
		}
	})
}

// eventTrampoline forwards reactor callbacks to a user Handler.
type eventTrampoline struct {
	ls *Listener
	h  Handler
}

func (t *eventTrampoline) OnOpen(c *reactor.Conn) {
	s := newStream(t.ls.rt, c, t.h, &t.ls.cfg.streamConfig)
	c.SetContext(s)
	t.h.OnOpen(s)
}

func (t *eventTrampoline) OnData(c *reactor.Conn, in []byte) int {
	s := c.Context().(*Stream)
	prev := s.busy
	s.busy = true
	n := t.h.OnData(s, in)
	s.busy = prev
	s.afterBusy()
	return n
}

func (t *eventTrampoline) OnClose(c *reactor.Conn, err error) {
	if s, ok := c.Context().(*Stream); ok {
		s.onClose(err)
	}
}

func (t *eventTrampoline) OnReadEOF(c *reactor.Conn) bool {
	eh, ok := t.h.(ReadEOFHandler)
	if !ok {
		return false
	}
	s, ok := c.Context().(*Stream)
	return ok && eh.OnReadEOF(s)
}

func (t *eventTrampoline) OnWritable(c *reactor.Conn) {
	if s, ok := c.Context().(*Stream); ok {
		s.service()
	}
}
