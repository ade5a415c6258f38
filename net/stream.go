package net

import (
	"errors"
	"io"
	stdnet "net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/task"
)

// Inbound bytes that arrive while no Read is pending are kept on the stream.
// Past readHigh the loop stops reading the socket, so a peer that sends faster
// than the program reads fills its own kernel buffers, not our heap.
const (
	readHigh = 256 << 10
	readLow  = 64 << 10
	// A drained inbound buffer larger than this goes back to the GC, so an
	// idle stream does not keep a burst-sized buffer alive.
	keepInbound = 16 << 10
)

// Stream is a TCP connection owned by one reactor loop. Its methods are safe
// for concurrent use unless marked loop-only.
type Stream struct {
	rt    *weft.Runtime
	loop  *reactor.Loop
	conn  *reactor.Conn // its methods are loop-only
	laddr stdnet.Addr
	raddr stdnet.Addr
	h     Handler
	cfg   *streamConfig
	kick  func() // s.service as a method value, made once

	// Loop-only: set while the stream calls into its reactor.Conn, so that a
	// close the reactor reports from inside that call is finished afterwards
	// instead of re-entering the mutex.
	busy      bool
	lateClose bool
	lateErr   error
	user      any

	mu       sync.Mutex
	in       []byte // inbound bytes not yet read (futures face)
	stage    []byte // outbound bytes accepted off the loop, not yet in conn
	outSnap  int    // conn.Buffered() when the loop last looked
	inOff    int
	rerr     error // sticky read error once the connection is gone
	werr     error // sticky write error
	reads    fifo[readReq]
	writes   fifo[writeReq]
	offq     []*offSlot
	paused   bool // loop has PauseRead because in is full
	kicked   bool // service is queued on the loop
	closing  bool // Close was called
	shutWr   bool // CloseWrite was called
	shutDone bool
	closeReq bool // c.Close has been called on the loop
	gone     bool // the reactor reported the close
	rdl, wdl int64
	rtimer   *reactor.Timer
	wtimer   *reactor.Timer
	rgen     uint64
	wgen     uint64
}

type readReq struct {
	p []byte
	f *task.Future[int]
}

type writeReq struct {
	p   []byte
	off int
	all bool
	f   *task.Future[int] // nil for Post and Offload answers
}

func newStream(rt *weft.Runtime, c *reactor.Conn, h Handler, cfg *streamConfig) *Stream {
	s := &Stream{rt: rt, conn: c, h: h, cfg: cfg}
	s.loop = c.Loop()
	s.laddr = c.LocalAddr()
	s.raddr = c.RemoteAddr()
	s.kick = s.service
	return s
}

// LocalAddr returns the local address of the connection.
func (s *Stream) LocalAddr() stdnet.Addr { return s.laddr }

// RemoteAddr returns the peer's address.
func (s *Stream) RemoteAddr() stdnet.Addr { return s.raddr }

// Loop returns the loop that owns the stream.
func (s *Stream) Loop() *reactor.Loop { return s.loop }

// Runtime returns the runtime the stream belongs to.
func (s *Stream) Runtime() *weft.Runtime { return s.rt }

// Context returns the value stored with SetContext. Loop-only, like the
// Handler callbacks that use it.
func (s *Stream) Context() any { return s.user }

// SetContext stores a per-connection value for the Handler. Loop-only.
func (s *Stream) SetContext(v any) { s.user = v }

func nowNano() int64 { return time.Now().UnixNano() }

func (s *Stream) inLen() int { return len(s.in) - s.inOff }

// Read reads up to len(p) bytes. The future completes with the bytes already
// buffered if there are any, otherwise with the next bytes that arrive, io.EOF
// once the peer has closed and everything was read, ErrDeadline after the read
// deadline, or ErrClosed after Close. p belongs to the stream until the future
// completes. Concurrent Reads are served in the order they were made.
func (s *Stream) Read(p []byte) *task.Future[int] {
	n, err, f := s.read(p, true)
	if f != nil {
		return f
	}
	return task.Ready(n, err)
}

// read returns either a result or, when it had to wait and mkFuture is set, a
// pending future. Registering under the same lock that checks the buffer is
// what keeps a byte from slipping in between the check and the wait.
func (s *Stream) read(p []byte, mkFuture bool) (int, error, *task.Future[int]) {
	if s.h != nil {
		return 0, ErrEventStream, nil
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return 0, ErrClosed, nil
	}
	if s.rdl != 0 && nowNano() >= s.rdl {
		s.mu.Unlock()
		return 0, ErrDeadline, nil
	}
	if len(p) == 0 {
		s.mu.Unlock()
		return 0, nil, nil
	}
	if s.inLen() > 0 {
		n := copy(p, s.in[s.inOff:])
		s.inOff += n
		kick := s.drainedLocked()
		s.mu.Unlock()
		if kick {
			s.submit()
		}
		return n, nil, nil
	}
	if s.rerr != nil {
		err := s.rerr
		s.mu.Unlock()
		return 0, err, nil
	}
	f := task.NewFuture[int](s.rt)
	s.reads.push(readReq{p: p, f: f})
	if s.rdl != 0 && s.rtimer == nil {
		s.armReadLocked()
	}
	s.mu.Unlock()
	return 0, nil, f
}

// drainedLocked tidies the inbound buffer after a read and says whether the
// loop must be asked to resume reading.
func (s *Stream) drainedLocked() bool {
	if s.inOff == len(s.in) {
		if cap(s.in) > keepInbound {
			s.in = nil
		} else {
			s.in = s.in[:0]
		}
		s.inOff = 0
	}
	if s.paused && s.inLen() < readLow {
		return s.kickLocked()
	}
	return false
}

// Write writes some of p: the future completes once at least one byte, and at
// most what fits under the outbound high watermark, is queued on the loop, with
// the count. Use WriteAll to have all of p written. p belongs to the stream
// until the future completes.
func (s *Stream) Write(p []byte) *task.Future[int] { return s.write(p, false) }

// WriteAll queues all of p on the loop, waiting for room under the outbound
// high watermark as needed. The future completes with len(p), or with the
// count accepted so far and the error (deadline, close) that stopped it.
func (s *Stream) WriteAll(p []byte) *task.Future[int] { return s.write(p, true) }

func (s *Stream) write(p []byte, all bool) *task.Future[int] {
	f, err := s.enqueue(p, all, true)
	if f == nil {
		return task.Ready(0, err)
	}
	return f
}

// enqueue adds a write to the stream's queue; the loop copies it into the
// connection's outbound buffer in order. With future unset the bytes are
// fire-and-forget (Post).
func (s *Stream) enqueue(p []byte, all, future bool) (*task.Future[int], error) {
	s.mu.Lock()
	if err := s.writeErrLocked(future); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if len(p) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	if s.writes.len() == 0 && len(s.stage)+len(p) <= s.cfg.writeHigh-s.outSnap {
		// Room under the watermark: take a copy and complete now, as a
		// kernel socket buffer would, so the writer does not wait a loop
		// turn for a future that cannot fail.
		s.stage = append(s.stage, p...)
		kick := s.kickLocked()
		s.mu.Unlock()
		if kick {
			s.submit()
		}
		if future {
			return task.Ready(len(p), nil), nil
		}
		return nil, nil
	}
	w := writeReq{p: p, all: all}
	if future {
		w.f = task.NewFuture[int](s.rt)
		if s.wdl != 0 && s.wtimer == nil {
			s.armWriteLocked()
		}
	}
	s.writes.push(w)
	kick := s.kickLocked()
	s.mu.Unlock()
	if kick {
		s.submit()
	}
	return w.f, nil
}

func (s *Stream) writeErrLocked(checkDeadline bool) error {
	switch {
	case s.closing:
		return ErrClosed
	case s.shutWr:
		return ErrWriteClosed
	case s.werr != nil:
		return s.werr
	case checkDeadline && s.wdl != 0 && nowNano() >= s.wdl:
		return ErrDeadline
	}
	return nil
}

// kickLocked reports whether the caller must queue service on the loop; the
// flag keeps a burst of operations to one Submit.
func (s *Stream) kickLocked() bool {
	if s.kicked || s.gone {
		return false
	}
	s.kicked = true
	return true
}

func (s *Stream) submit() {
	if err := s.loop.Submit(s.kick); err != nil {
		// The loop is gone (the runtime is closing); nobody will ever
		// service this stream, so fail whatever waits on it.
		s.mu.Lock()
		s.kicked = false
		s.failAllLocked(ErrClosed, ErrClosed)
		s.gone = true
		s.mu.Unlock()
	}
}

// service runs on the loop: it moves queued writes into the outbound buffer
// and carries out resume, half-close and close requests.
func (s *Stream) service() {
	prev := s.busy
	s.busy = true
	s.mu.Lock()
	s.kicked = false
	if s.gone {
		s.mu.Unlock()
		s.busy = prev
		return
	}
	if s.paused && (s.inLen() < readLow || s.closing) {
		s.paused = false
		s.conn.ResumeRead()
	}
	s.flushLocked()
	var shut, closeNow bool
	if s.writes.len() == 0 {
		if s.shutWr && !s.shutDone {
			s.shutDone, shut = true, true
		}
		if s.closing && !s.closeReq {
			s.closeReq, closeNow = true, true
		}
	}
	s.mu.Unlock()
	if shut {
		s.conn.CloseWrite()
	}
	if closeNow {
		s.conn.Close()
	}
	s.busy = prev
	s.afterBusy()
}

// flushLocked copies queued writes into the connection while there is room.
// It holds the mutex across the copy, so a write that a deadline or Close
// fails from another goroutine is never touched again: the caller may reuse
// its buffer as soon as the future completes.
func (s *Stream) flushLocked() {
	defer func() { s.outSnap = s.conn.Buffered() }()
	if len(s.stage) > 0 {
		_, err := s.conn.Write(s.stage)
		if cap(s.stage) > keepInbound {
			s.stage = nil
		} else {
			s.stage = s.stage[:0]
		}
		if err != nil {
			s.werr = err
			s.failWritesLocked(err)
			return
		}
	}
	for s.writes.len() > 0 {
		w := s.writes.front()
		chunk := w.p[w.off:]
		if !s.closing {
			room := s.room()
			if room <= 0 {
				return // OnWritable brings us back
			}
			if len(chunk) > room {
				chunk = chunk[:room]
			}
		}
		n, err := s.conn.Write(chunk)
		w.off += n
		if err != nil {
			s.werr = err
			s.failWritesLocked(err)
			return
		}
		if w.off < len(w.p) && w.all {
			continue
		}
		f, off := w.f, w.off
		s.writes.pop()
		if f != nil {
			f.Complete(off, nil)
		}
	}
}

// room is how many more bytes the outbound buffer takes before the reactor's
// high watermark. Filling exactly up to it is what makes the reactor pause and
// later call OnWritable, which brings the queue back.
func (s *Stream) room() int {
	return s.cfg.writeHigh - s.conn.Buffered()
}

func (s *Stream) afterBusy() {
	if !s.busy && s.lateClose {
		s.lateClose = false
		s.onClose(s.lateErr)
	}
}

// onData runs on the loop for futures-face streams: it fills pending reads
// straight from the reactor's buffer and keeps the rest.
func (s *Stream) onData(in []byte) int {
	total := len(in)
	prev := s.busy
	s.busy = true
	s.mu.Lock()
	for len(in) > 0 && s.reads.len() > 0 {
		r := *s.reads.front()
		s.reads.pop()
		n := copy(r.p, in)
		in = in[n:]
		r.f.Complete(n, nil)
	}
	if len(in) > 0 && !s.closing {
		if s.inOff > 0 && s.inOff == len(s.in) {
			s.in, s.inOff = s.in[:0], 0
		}
		s.in = append(s.in, in...)
		if !s.paused && s.inLen() >= readHigh {
			s.paused = true
			s.conn.PauseRead()
		}
	}
	if s.reads.len() == 0 && s.rtimer != nil {
		s.stopReadTimerLocked()
	}
	s.mu.Unlock()
	s.busy = prev
	s.afterBusy()
	return total
}

// onReadEOF runs on the loop when the peer half-closed and the stream stays
// writable: what is buffered can still be read, then Read gives io.EOF.
func (s *Stream) onReadEOF() {
	s.mu.Lock()
	if s.rerr == nil {
		s.rerr = io.EOF
	}
	if s.inLen() == 0 {
		s.failReadsLocked(io.EOF)
	}
	s.mu.Unlock()
}

// onWritable runs on the loop when the outbound buffer has drained.
func (s *Stream) onWritable() { s.service() }

// onClose runs on the loop once the fd is closed.
func (s *Stream) onClose(err error) {
	if s.busy {
		s.lateClose, s.lateErr = true, err
		return
	}
	s.mu.Lock()
	if !s.gone {
		s.gone = true
		rerr, werr := err, err
		switch {
		case err == nil || errors.Is(err, reactor.ErrClosed):
			rerr, werr = ErrClosed, ErrClosed
		case err == io.EOF:
			werr = &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}
		}
		if s.rerr == nil {
			s.rerr = rerr
		}
		if s.werr == nil {
			s.werr = werr
		}
		s.failAllLocked(s.rerr, s.werr)
		s.stage = nil
		s.stopReadTimerLocked()
		s.stopWriteTimerLocked()
	}
	s.mu.Unlock()
	if s.h != nil {
		s.h.OnClose(s, err)
	}
}

func (s *Stream) failAllLocked(rerr, werr error) {
	s.failReadsLocked(rerr)
	s.failWritesLocked(werr)
	s.offq = nil
}

func (s *Stream) failReadsLocked(err error) {
	for _, r := range s.reads.items() {
		r.f.Complete(0, err)
	}
	s.reads.reset()
}

func (s *Stream) failWritesLocked(err error) {
	for _, w := range s.writes.items() {
		if w.f != nil {
			w.f.Complete(w.off, err)
		}
	}
	s.writes.reset()
}

// Close closes the stream. Pending Reads fail with ErrClosed; writes already
// queued are still flushed before the fd is closed; later calls fail. Safe
// from any goroutine; the close itself happens on the loop.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closing = true
	s.failReadsLocked(ErrClosed)
	s.in, s.inOff = nil, 0
	s.stopReadTimerLocked()
	kick := s.kickLocked()
	s.mu.Unlock()
	if kick {
		s.submit()
	}
	return nil
}

// CloseWrite shuts down the sending side once every queued write is flushed;
// reading goes on.
func (s *Stream) CloseWrite() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.shutWr {
		s.mu.Unlock()
		return nil
	}
	s.shutWr = true
	kick := s.kickLocked()
	s.mu.Unlock()
	if kick {
		s.submit()
	}
	return nil
}

// SetDeadline sets both the read and the write deadline.
func (s *Stream) SetDeadline(t time.Time) error {
	if err := s.SetReadDeadline(t); err != nil {
		return err
	}
	return s.SetWriteDeadline(t)
}

// SetReadDeadline makes pending and later Reads fail with ErrDeadline once t
// has passed; the zero time removes the deadline. The loop's timer is armed
// only while a Read is pending.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	s.stopReadTimerLocked()
	s.rdl = 0
	if !t.IsZero() {
		s.rdl = t.UnixNano()
		if s.rdl <= 0 {
			s.rdl = 1
		}
		if s.reads.len() > 0 {
			if nowNano() >= s.rdl {
				s.expireReadsLocked()
			} else {
				s.armReadLocked()
			}
		}
	}
	s.mu.Unlock()
	return nil
}

// SetWriteDeadline makes pending and later writes with a future fail with
// ErrDeadline once t has passed; bytes already accepted stay queued.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	s.stopWriteTimerLocked()
	s.wdl = 0
	if !t.IsZero() {
		s.wdl = t.UnixNano()
		if s.wdl <= 0 {
			s.wdl = 1
		}
		if s.pendingWritesLocked() {
			if nowNano() >= s.wdl {
				s.expireWritesLocked()
			} else {
				s.armWriteLocked()
			}
		}
	}
	s.mu.Unlock()
	return nil
}

func (s *Stream) pendingWritesLocked() bool {
	for _, w := range s.writes.items() {
		if w.f != nil {
			return true
		}
	}
	return false
}

func (s *Stream) stopReadTimerLocked() {
	if s.rtimer != nil {
		s.rtimer.Stop()
		s.rtimer = nil
	}
	s.rgen++
}

func (s *Stream) stopWriteTimerLocked() {
	if s.wtimer != nil {
		s.wtimer.Stop()
		s.wtimer = nil
	}
	s.wgen++
}

func (s *Stream) armReadLocked() {
	s.rgen++
	gen := s.rgen
	d := time.Duration(s.rdl - nowNano())
	s.rtimer = s.loop.AfterFunc(d, func() { s.readTimer(gen) })
}

func (s *Stream) armWriteLocked() {
	s.wgen++
	gen := s.wgen
	d := time.Duration(s.wdl - nowNano())
	s.wtimer = s.loop.AfterFunc(d, func() { s.writeTimer(gen) })
}

// readTimer runs on the loop. A timer may fire a hair before the wall clock
// reaches the deadline; then it is re-armed rather than leaving a Read that
// the deadline check in read would already have refused.
func (s *Stream) readTimer(gen uint64) {
	s.mu.Lock()
	if gen == s.rgen && s.rdl != 0 {
		s.rtimer = nil
		if nowNano() < s.rdl {
			s.armReadLocked()
		} else {
			s.expireReadsLocked()
		}
	}
	s.mu.Unlock()
}

func (s *Stream) writeTimer(gen uint64) {
	s.mu.Lock()
	if gen == s.wgen && s.wdl != 0 {
		s.wtimer = nil
		if nowNano() < s.wdl {
			s.armWriteLocked()
		} else {
			s.expireWritesLocked()
		}
	}
	s.mu.Unlock()
}

func (s *Stream) expireReadsLocked() {
	s.failReadsLocked(ErrDeadline)
	s.stopReadTimerLocked()
}

// expireWritesLocked fails the writes that have a future. Post'ed bytes have
// nobody to report to and stay queued, in order.
func (s *Stream) expireWritesLocked() {
	s.writes.keep(func(w *writeReq) bool {
		if w.f != nil {
			w.f.Complete(w.off, ErrDeadline)
			return false
		}
		return true
	})
	s.stopWriteTimerLocked()
}
