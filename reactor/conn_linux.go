package reactor

import (
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"
)

const (
	stateOpen    uint8 = iota
	stateClosing       // Close called or peer EOF: flush, then close
	stateClosed
)

// Interest set of an open connection. Edge-triggered (see doc.go): registered once, and
// changed only when reading is paused or resumed.
const (
	evRead  = unix.EPOLLIN | unix.EPOLLRDHUP
	evWrite = unix.EPOLLOUT
	evBase  = unix.EPOLLET | evWrite
)

// Conn is a connection owned by one loop. Its methods are loop-only unless marked
// otherwise; handlers run on the loop, so they may call them directly.
type Conn struct {
	loop  *Loop
	fd    int
	gen   uint32
	h     Handler
	wh    WritableHandler
	ctx   any
	laddr net.Addr
	raddr net.Addr

	in    []byte // pooled inbound buffer, nil while idle
	inLen int    // bytes of in not yet consumed

	out       [][]byte // pooled outbound chunks, filled front to back
	outInline [2][]byte
	outOff    int // bytes of out[0] already written
	outLen    int // bytes queued and not yet written

	state       uint8
	dirty       bool // in loop.dirty
	pendingRead bool // in loop.pending
	reoffer     bool // offer buffered input again before reading (after a resume)
	wblocked    bool // the last writev was short: waiting for EPOLLOUT
	wmPaused    bool // reading paused by the high watermark
	userPaused  bool // reading paused by PauseRead
	readOn      bool // EPOLLIN currently in the interest set
	wantShutWr  bool // CloseWrite requested: shutdown(SHUT_WR) once flushed
	wrShut      bool
	peerEOF     bool
	hupSeen     bool // EPOLLRDHUP/HUP/ERR reported: read until EOF or EAGAIN, never stop short
	closeErr    error
}

// Attach adopts a connected socket: the loop owns and will close fd from now on, and h
// receives its events (OnOpen runs before Attach returns). Loop only.
func (l *Loop) Attach(fd int, h Handler) (*Conn, error) {
	if !l.InLoop() {
		return nil, ErrNotInLoop
	}
	if fd < 0 || h == nil {
		return nil, fmt.Errorf("%w: Attach(%d)", ErrBadOption, fd)
	}
	if l.stopReq.Load() {
		return nil, ErrClosed
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("reactor: attach fd %d: %w", fd, err)
	}
	var laddr, raddr net.Addr
	if sa, err := unix.Getsockname(fd); err == nil {
		laddr = sockaddrToAddr(sa)
	}
	if sa, err := unix.Getpeername(fd); err == nil {
		raddr = sockaddrToAddr(sa)
	}
	l.nconns.Add(1)
	c, err := l.attach(fd, h, laddr, raddr)
	if err != nil {
		l.nconns.Add(-1)
		return nil, err
	}
	return c, nil
}

// attach registers fd; the caller has already counted it in nconns.
func (l *Loop) attach(fd int, h Handler, laddr, raddr net.Addr) (*Conn, error) {
	if l.stopReq.Load() {
		return nil, ErrClosed
	}
	if fd < len(l.conns) && l.conns[fd] != nil {
		return nil, fmt.Errorf("reactor: attach fd %d: already attached", fd)
	}
	if _, ok := l.watches[fd]; ok {
		// Either the watcher hands its fd over (a finished connect) or it closed the fd
		// without Unwatch and the number came back for a new socket: the connection
		// takes the fd over in both cases.
		delete(l.watches, fd)
		_ = l.p.del(fd)
	}
	l.gen++
	if l.gen == 0 { // 0 marks watched fds in epoll data
		l.gen = 1
	}
	c := &Conn{loop: l, fd: fd, gen: l.gen, h: h, laddr: laddr, raddr: raddr, readOn: true}
	c.wh, _ = h.(WritableHandler)
	c.out = c.outInline[:0]
	if err := l.p.add(fd, evBase|evRead, c.gen); err != nil {
		return nil, fmt.Errorf("reactor: attach fd %d: %w", fd, err)
	}
	for fd >= len(l.conns) {
		n := 2 * len(l.conns)
		if n < 64 {
			n = 64
		}
		for n <= fd {
			n *= 2
		}
		grown := make([]*Conn, n)
		copy(grown, l.conns)
		l.conns = grown
	}
	l.conns[fd] = c
	h.OnOpen(c)
	return c, nil
}

// Loop returns the owning loop. Any goroutine.
func (c *Conn) Loop() *Loop { return c.loop }

// Fd returns the socket descriptor, or -1 once closed.
func (c *Conn) Fd() int { return c.fd }

// LocalAddr is fixed at attach time. Any goroutine.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr is fixed at attach time. Any goroutine.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// Context returns the value set by SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches per-connection state for the handler.
func (c *Conn) SetContext(v any) { c.ctx = v }

// Buffered returns the outbound bytes not yet written to the socket.
func (c *Conn) Buffered() int { return c.outLen }

// WritePaused reports that the outbound queue has reached the high watermark and not yet
// drained to the low one (reading is paused meanwhile). A producer that can wait should
// stop queueing until OnWritable; one that cannot bounds what it queues by this.
func (c *Conn) WritePaused() bool { return c.wmPaused }

// Write copies p into the outbound buffer; the loop flushes it with one writev per turn.
// It never blocks and never refuses bytes for being over the high watermark: the
// watermark pauses reading instead, which bounds what a request/response handler queues.
func (c *Conn) Write(p []byte) (int, error) {
	if c.state != stateOpen || c.wantShutWr {
		return 0, ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.appendOut(p)
	c.afterWrite()
	return len(p), nil
}

// Writev copies every slice of bufs, in order, into the outbound buffer.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	if c.state != stateOpen || c.wantShutWr {
		return 0, ErrClosed
	}
	n := 0
	for _, b := range bufs {
		c.appendOut(b)
		n += len(b)
	}
	if n > 0 {
		c.afterWrite()
	}
	return n, nil
}

func (c *Conn) appendOut(p []byte) {
	l := c.loop
	for len(p) > 0 {
		k := len(c.out)
		if k == 0 || len(c.out[k-1]) == cap(c.out[k-1]) {
			c.out = append(c.out, l.getChunk())
			k++
		}
		last := c.out[k-1]
		n := copy(last[len(last):cap(last)], p)
		c.out[k-1] = last[:len(last)+n]
		p = p[n:]
		c.outLen += n
	}
}

func (c *Conn) afterWrite() {
	c.loop.markDirty(c)
	if !c.wmPaused && c.outLen >= c.loop.cfg.high {
		c.wmPaused = true
		c.loop.local.Paused++
		c.updateInterest()
	}
}

// Close flushes what is queued, then closes; OnClose(c, nil) follows. A second call
// returns ErrClosed.
func (c *Conn) Close() error {
	if c.state != stateOpen {
		return ErrClosed
	}
	c.state = stateClosing
	c.closeErr = nil
	c.loop.markDirty(c)
	return nil
}

// CloseWrite flushes what is queued, then shuts down the sending side; reading goes on
// until the peer closes, which then closes the connection with io.EOF.
func (c *Conn) CloseWrite() error {
	if c.state != stateOpen || c.wantShutWr {
		return ErrClosed
	}
	c.wantShutWr = true
	c.loop.markDirty(c)
	return nil
}

// Abort closes at once with a TCP RST (SO_LINGER 0), dropping queued output; OnClose(c,
// nil) follows before Abort returns.
func (c *Conn) Abort() error {
	if c.state == stateClosed {
		return ErrClosed
	}
	_ = unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	c.loop.finish(c, nil)
	return nil
}

// PauseRead stops reading (EPOLLIN off) until ResumeRead; the kernel buffer then fills and
// TCP flow control slows the peer.
func (c *Conn) PauseRead() {
	if c.state == stateClosed || c.userPaused {
		return
	}
	c.userPaused = true
	c.updateInterest()
}

// ResumeRead undoes PauseRead.
func (c *Conn) ResumeRead() {
	if c.state == stateClosed || !c.userPaused {
		return
	}
	c.userPaused = false
	c.updateInterest()
}

// updateInterest re-registers the fd when the read interest changes. With EPOLLET,
// EPOLL_CTL_MOD re-checks readiness, so bytes that arrived while paused produce an event
// as soon as reading is back on.
func (c *Conn) updateInterest() {
	want := !c.userPaused && !c.wmPaused && c.state == stateOpen && !c.peerEOF
	if want == c.readOn {
		return
	}
	ev := uint32(evBase)
	if want {
		ev |= evRead
	}
	l := c.loop
	if err := l.p.mod(c.fd, ev, c.gen); err != nil {
		l.finish(c, err)
		return
	}
	c.readOn = want
	// A handler that stopped consuming because of backpressure may have left whole
	// requests in the inbound buffer; no new edge will announce them, so offer them again.
	if want && c.inLen > 0 {
		c.reoffer = true
		if !c.pendingRead {
			c.pendingRead = true
			l.pending = append(l.pending, c)
		}
	}
}

func (l *Loop) markDirty(c *Conn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

func (l *Loop) connEvent(c *Conn, events uint32) {
	if events&unix.EPOLLERR != 0 {
		if soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soerr != 0 {
			l.finish(c, unix.Errno(soerr))
			return
		}
	}
	if events&(unix.EPOLLOUT|unix.EPOLLHUP) != 0 {
		c.wblocked = false
		if c.outLen > 0 {
			l.markDirty(c)
		}
	}
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hupSeen = true
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		if c.readOn {
			l.readConn(c)
		} else if events&unix.EPOLLHUP != 0 && c.state != stateClosed {
			// Both directions are gone; nothing we queue can be delivered.
			l.finish(c, io.EOF)
		}
	}
}

// readConn reads until the socket is drained, handing each read to OnData. After
// readsPerTurn reads the connection waits for the next turn so one fast sender cannot
// starve the loop; with edge triggering that needs the pending list, as no new edge will
// come for data already there.
//
// A short read (fewer bytes than the buffer had room for) from a stream socket means the
// receive queue was empty when the read returned, so the loop stops there instead of
// paying one more read for the EAGAIN: anything that arrives later raises a new edge,
// because the kernel signals epoll on every arrival after the event was collected. The
// exception is the peer's FIN: it arrives with the same edge as the last data (the event
// carries EPOLLRDHUP) and no further edge follows, so once RDHUP, HUP or ERR has been
// seen the connection is read until read returns 0 or EAGAIN.
func (l *Loop) readConn(c *Conn) {
	for i := 0; i < l.cfg.readsPerTurn; i++ {
		if c.state != stateOpen || !c.readOn {
			l.releaseIn(c)
			return
		}
		if c.in == nil {
			c.in = l.getBuf()
		} else if c.inLen == len(c.in) {
			// The handler left a full buffer unconsumed: it needs a bigger one.
			grown := make([]byte, 2*len(c.in))
			copy(grown, c.in[:c.inLen])
			l.putBuf(c.in)
			c.in = grown
		}
		room := len(c.in) - c.inLen
		n, errno := rawRead(c.fd, c.in[c.inLen:])
		if errno != 0 {
			switch errno {
			case unix.EAGAIN:
				l.releaseIn(c)
				return
			case unix.EINTR:
				continue
			}
			l.finish(c, errno)
			return
		}
		if n == 0 {
			l.peerClosed(c)
			return
		}
		l.local.Reads++
		l.local.BytesIn += int64(n)
		c.inLen += n
		l.deliver(c)
		if n < room && !c.hupSeen {
			l.releaseIn(c)
			return
		}
	}
	if !c.pendingRead {
		c.pendingRead = true
		l.pending = append(l.pending, c)
	}
}

// deliver offers the buffered input to the handler and keeps what it did not consume.
func (l *Loop) deliver(c *Conn) {
	consumed := c.h.OnData(c, c.in[:c.inLen])
	if c.state == stateClosed {
		return
	}
	switch {
	case consumed >= c.inLen:
		c.inLen = 0
	case consumed > 0:
		c.inLen = copy(c.in, c.in[consumed:c.inLen])
	}
}

// releaseIn returns an empty inbound buffer to the pool: an idle connection holds none.
func (l *Loop) releaseIn(c *Conn) {
	if c.in != nil && c.inLen == 0 {
		l.putBuf(c.in)
		c.in = nil
	}
}

// peerClosed handles EOF: queued output is still flushed (the peer may only have
// half-closed), then the connection closes with io.EOF.
func (l *Loop) peerClosed(c *Conn) {
	c.peerEOF = true
	l.releaseIn(c)
	if c.state != stateOpen {
		return
	}
	if eh, ok := c.h.(ReadEOFHandler); ok && !c.wantShutWr && eh.OnReadEOF(c) {
		if c.state == stateOpen {
			c.updateInterest() // nothing more to read: EPOLLIN off
		}
		return
	}
	if c.state == stateOpen {
		c.state = stateClosing
		c.closeErr = io.EOF
		l.markDirty(c)
	}
}

// flushDirty gives every connection with queued output one writev, then finishes pending
// closes and half-closes.
func (l *Loop) flushDirty() {
	for i := 0; i < len(l.dirty); i++ { // closes may run handlers that dirty more conns
		c := l.dirty[i]
		l.dirty[i] = nil
		c.dirty = false
		if c.state == stateClosed {
			continue
		}
		if c.outLen > 0 {
			if !l.flush(c) {
				continue
			}
		}
		if c.outLen > 0 {
			continue // EPOLLOUT will bring it back
		}
		if c.state == stateClosing {
			l.finish(c, c.closeErr)
			continue
		}
		if c.wantShutWr && !c.wrShut {
			c.wrShut = true
			if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
				l.finish(c, err)
				continue
			}
			if c.peerEOF { // both directions are done
				l.finish(c, io.EOF)
			}
		}
	}
	l.dirty = l.dirty[:0]
}

// flush issues one write (or writev, for several chunks); it reports false if the
// connection was closed on error.
func (l *Loop) flush(c *Conn) bool {
	if len(c.out) == 1 {
		// The common case (a response or a pipelined batch that fits one chunk): write(2)
		// skips writev's iovec import and the iovec bookkeeping here.
		n, errno := rawWrite(c.fd, c.out[0][c.outOff:])
		return l.wrote(c, n, errno)
	}
	iov := l.iov[:0]
	for i, ch := range c.out {
		if len(iov) == 1024 { // IOV_MAX
			break
		}
		b := ch
		if i == 0 {
			b = ch[c.outOff:]
		}
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	l.iov = iov[:0]
	if len(iov) == 0 {
		return true
	}
	n, errno := rawWritev(c.fd, iov)
	for i := range iov {
		iov[i].Base = nil // do not keep chunks reachable from the loop
	}
	return l.wrote(c, n, errno)
}

// wrote accounts for the result of a write or writev of c's queue.
func (l *Loop) wrote(c *Conn, n int, errno unix.Errno) bool {
	if errno != 0 {
		if errno == unix.EAGAIN {
			c.wblocked = true
			return true
		}
		if errno == unix.EINTR {
			return true
		}
		l.finish(c, errno)
		return false
	}
	l.local.Writes++
	l.local.BytesOut += int64(n)
	c.outLen -= n
	c.wblocked = c.outLen > 0
	for n > 0 {
		rest := len(c.out[0]) - c.outOff
		if n < rest {
			c.outOff += n
			break
		}
		n -= rest
		l.putChunk(c.out[0])
		c.out[0] = nil
		c.out = c.out[1:]
		c.outOff = 0
	}
	if len(c.out) == 0 {
		c.out = c.outInline[:0]
	}
	if c.wmPaused && c.outLen <= l.cfg.low {
		c.wmPaused = false
		c.updateInterest()
		if c.state == stateOpen && c.wh != nil {
			c.wh.OnWritable(c)
		}
	}
	return c.state != stateClosed
}

func (c *Conn) dropOut() {
	for i, ch := range c.out {
		c.loop.putChunk(ch)
		c.out[i] = nil
	}
	c.out = c.outInline[:0]
	c.outOff, c.outLen = 0, 0
}

// finish closes the fd, drops any queued output and runs OnClose.
func (l *Loop) finish(c *Conn, err error) {
	if c.state == stateClosed {
		return
	}
	c.state = stateClosed
	fd := c.fd
	if fd >= 0 && fd < len(l.conns) && l.conns[fd] == c {
		l.conns[fd] = nil
	}
	// close(2) also removes the fd from epoll, unless someone dup'ed it; the explicit
	// delete keeps a dup from producing events for a dead Conn.
	_ = l.p.del(fd)
	unix.Close(fd)
	c.fd = -1
	if c.in != nil {
		l.putBuf(c.in)
		c.in, c.inLen = nil, 0
	}
	c.dropOut()
	l.local.Closed++
	l.nconns.Add(-1)
	c.h.OnClose(c, err)
}

func sockaddrToAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ip := make(net.IP, 4)
		copy(ip, a.Addr[:])
		return &net.TCPAddr{IP: ip, Port: a.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, 16)
		copy(ip, a.Addr[:])
		var zone string
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.TCPAddr{IP: ip, Port: a.Port, Zone: zone}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}
