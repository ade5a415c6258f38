package reactor

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Group is a set of loops plus the listeners that feed them.
type Group struct {
	cfg   *config
	loops []*Loop
	next  atomic.Uint64

	mu        sync.Mutex
	listeners map[*Listener]struct{}
	closed    bool
}

// NewGroup starts the loops. Close stops them.
func NewGroup(opts ...Option) (*Group, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, listeners: make(map[*Listener]struct{})}
	for i := 0; i < cfg.loops; i++ {
		l, err := newLoop(i, cfg)
		if err != nil {
			for _, started := range g.loops {
				started.stop()
			}
			return nil, err
		}
		g.loops = append(g.loops, l)
	}
	return g, nil
}

// Loops returns the group's loops; the slice must not be modified.
func (g *Group) Loops() []*Loop { return g.loops }

// Next returns a loop for a new client connection, round robin. Any goroutine.
func (g *Group) Next() *Loop {
	return g.loops[(g.next.Add(1)-1)%uint64(len(g.loops))]
}

// Close closes the listeners, then every connection (OnClose gets ErrClosed), then the
// loops, and waits for all of their goroutines. It must not be called from a loop.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	g.closed = true
	lns := make([]*Listener, 0, len(g.listeners))
	for ln := range g.listeners {
		lns = append(lns, ln)
	}
	g.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, l := range g.loops {
		l.stop()
	}
	return nil
}

// Listener accepts connections for a Group.
type Listener struct {
	g    *Group
	h    Handler
	addr *net.TCPAddr
	// laddr is shared by every accepted Conn when the listener is bound to one address,
	// which saves a getsockname and an allocation per connection.
	laddr net.Addr

	fd  int     // acceptor mode
	p   *poller // acceptor mode: listener fd plus a wake-up eventfd
	fds []int   // reuse-port mode: one listener per loop
	bal Balancer

	closing  chan struct{}
	done     chan struct{}
	once     sync.Once
	backoffs atomic.Int64
	accepted atomic.Int64
}

// Addr is the bound address (with the real port when listening on port 0).
func (ln *Listener) Addr() net.Addr { return ln.addr }

// Backoffs counts accept failures (EMFILE, ENFILE, ENOBUFS...) that made the listener
// wait and retry. Any goroutine.
func (ln *Listener) Backoffs() int64 { return ln.backoffs.Load() }

// Accepted counts accepted connections. Any goroutine.
func (ln *Listener) Accepted() int64 { return ln.accepted.Load() }

// Listen binds a TCP listener ("tcp", "tcp4" or "tcp6") whose connections are served by
// h on the group's loops.
func (g *Group) Listen(network, addr string, h Handler) (*Listener, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: Listen with nil handler", ErrBadOption)
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("reactor: listen %s %s: %w", network, addr, net.UnknownNetworkError(network))
	}
	tcpAddr, err := net.ResolveTCPAddr(network, addr)
	if err != nil {
		return nil, fmt.Errorf("reactor: listen %s %s: %w", network, addr, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	ln := &Listener{g: g, h: h, closing: make(chan struct{}), done: make(chan struct{}), fd: -1}
	if g.cfg.reusePort {
		err = ln.startReusePort(network, tcpAddr)
	} else {
		err = ln.startAcceptor(network, tcpAddr)
	}
	if err != nil {
		return nil, fmt.Errorf("reactor: listen %s %s: %w", network, addr, err)
	}
	g.listeners[ln] = struct{}{}
	return ln, nil
}

func listenSocket(network string, a *net.TCPAddr, reusePort bool) (int, *net.TCPAddr, error) {
	family := unix.AF_INET
	ip := a.IP
	switch {
	case network == "tcp6":
		family = unix.AF_INET6
	case ip == nil || ip.IsUnspecified() && ip.To4() == nil:
		if network == "tcp" {
			family = unix.AF_INET6 // dual stack
		}
	case ip.To4() == nil:
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, nil, err
	}
	fail := func(err error) (int, *net.TCPAddr, error) {
		unix.Close(fd)
		return -1, nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail(err)
	}
	if reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail(err)
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		s := &unix.SockaddrInet4{Port: a.Port}
		if v4 := ip.To4(); v4 != nil {
			copy(s.Addr[:], v4)
		}
		sa = s
	} else {
		v6only := 0
		if network == "tcp6" {
			v6only = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail(err)
		}
		s := &unix.SockaddrInet6{Port: a.Port}
		if ip != nil {
			copy(s.Addr[:], ip.To16())
		}
		if a.Zone != "" {
			if ifi, err := net.InterfaceByName(a.Zone); err == nil {
				s.ZoneId = uint32(ifi.Index)
			}
		}
		sa = s
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail(err)
	}
	// The kernel caps the backlog at net.core.somaxconn.
	if err := unix.Listen(fd, 65535); err != nil {
		return fail(err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	ta, _ := sockaddrToAddr(bound).(*net.TCPAddr)
	return fd, ta, nil
}

func (ln *Listener) setAddr(a *net.TCPAddr) {
	ln.addr = a
	if a != nil && !a.IP.IsUnspecified() {
		ln.laddr = a
	}
}

func (ln *Listener) startAcceptor(network string, a *net.TCPAddr) error {
	fd, bound, err := listenSocket(network, a, false)
	if err != nil {
		return err
	}
	p, err := newPoller(16)
	if err != nil {
		unix.Close(fd)
		return err
	}
	if err := p.add(fd, unix.EPOLLIN, 0); err != nil {
		p.close()
		unix.Close(fd)
		return err
	}
	ln.fd, ln.p = fd, p
	ln.setAddr(bound)
	ln.bal = ln.g.cfg.balancer
	go ln.acceptLoop()
	return nil
}

// acceptLoop is the acceptor goroutine: it blocks in epoll_wait on the listener (level
// triggered: a backlog left behind by a backoff is reported again) and hands each
// accepted fd to the loop the balancer picks.
func (ln *Listener) acceptLoop() {
	// Close owns the fds: it closes them after done, so a wake-up can never hit a
	// recycled descriptor.
	defer close(ln.done)
	var backoff time.Duration
	for {
		if _, err := ln.p.wait(-1); err != nil {
			if !ln.pause(&backoff) {
				return
			}
			continue
		}
		select {
		case <-ln.closing:
			return
		default:
		}
		for {
			nfd, sa, err := unix.Accept4(ln.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				if err == unix.EAGAIN {
					break
				}
				if err == unix.EINTR || err == unix.ECONNABORTED {
					continue
				}
				// EMFILE, ENFILE, ENOBUFS, ENOMEM or worse: never give up the listener.
				// Waiting leaves the pending connections in the backlog, to be served as
				// soon as descriptors are free, instead of shedding them.
				if !ln.pause(&backoff) {
					return
				}
				continue
			}
			backoff = 0
			ln.dispatch(nfd, sa)
		}
	}
}

// pause sleeps for the next backoff step; it reports false if the listener is closing.
func (ln *Listener) pause(backoff *time.Duration) bool {
	ln.backoffs.Add(1)
	switch {
	case *backoff == 0:
		*backoff = time.Millisecond
	case *backoff < 100*time.Millisecond:
		*backoff *= 2
	}
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-ln.closing:
		return false
	case <-t.C:
		return true
	}
}

func (ln *Listener) dispatch(fd int, sa unix.Sockaddr) {
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	raddr := sockaddrToAddr(sa)
	loops := ln.g.loops
	l := ln.bal.Pick(loops, raddr)
	if l == nil {
		l = loops[0]
	}
	laddr := ln.laddr
	l.nconns.Add(1)
	l.accepted.Add(1)
	ln.accepted.Add(1)
	err := l.Submit(func() {
		la := laddr
		if la == nil {
			if s, err := unix.Getsockname(fd); err == nil {
				la = sockaddrToAddr(s)
			}
		}
		if _, err := l.attach(fd, ln.h, la, raddr); err != nil {
			l.nconns.Add(-1)
			unix.Close(fd)
		}
	})
	if err != nil {
		l.nconns.Add(-1)
		unix.Close(fd)
	}
}

func (ln *Listener) startReusePort(network string, a *net.TCPAddr) error {
	loops := ln.g.loops
	first, bound, err := listenSocket(network, a, true)
	if err != nil {
		return err
	}
	ln.fds = append(ln.fds, first)
	ln.setAddr(bound)
	for len(ln.fds) < len(loops) {
		fd, _, err := listenSocket(network, bound, true)
		if err != nil {
			for _, fd := range ln.fds {
				unix.Close(fd)
			}
			return err
		}
		ln.fds = append(ln.fds, fd)
	}
	errs := make(chan error, len(loops))
	for i, l := range loops {
		fd := ln.fds[i]
		if l.InLoop() { // Listen called from a loop callback: do not wait on ourselves
			errs <- ln.watchReuse(l, fd)
			continue
		}
		if err := l.Submit(func() { errs <- ln.watchReuse(l, fd) }); err != nil {
			errs <- err
		}
	}
	var firstErr error
	for range loops {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		ln.closeReuse()
		return firstErr
	}
	close(ln.done)
	return nil
}

// watchReuse registers one SO_REUSEPORT listener on its loop, which accepts directly.
func (ln *Listener) watchReuse(l *Loop, fd int) error {
	var backoff time.Duration
	var cb func(uint32)
	cb = func(uint32) {
		// Bounded per turn so that a connection storm cannot starve established ones;
		// the listener is level-triggered, so the rest is reported next turn.
		for i := 0; i < 64; i++ {
			nfd, sa, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				if err == unix.EAGAIN {
					return
				}
				if err == unix.EINTR || err == unix.ECONNABORTED {
					continue
				}
				// Stop watching (the listener stays readable) and retry after a backoff.
				ln.backoffs.Add(1)
				switch {
				case backoff == 0:
					backoff = time.Millisecond
				case backoff < 100*time.Millisecond:
					backoff *= 2
				}
				if l.Unwatch(fd) == nil {
					l.AfterFunc(backoff, func() {
						select {
						case <-ln.closing:
						default:
							_ = l.Watch(fd, unix.EPOLLIN, cb)
						}
					})
				}
				return
			}
			backoff = 0
			_ = unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			l.nconns.Add(1)
			l.accepted.Add(1)
			ln.accepted.Add(1)
			la := ln.laddr
			if la == nil {
				if s, err := unix.Getsockname(nfd); err == nil {
					la = sockaddrToAddr(s)
				}
			}
			if _, err := l.attach(nfd, ln.h, la, sockaddrToAddr(sa)); err != nil {
				l.nconns.Add(-1)
				unix.Close(nfd)
			}
		}
	}
	return l.Watch(fd, unix.EPOLLIN, cb)
}

func (ln *Listener) closeReuse() {
	var wg sync.WaitGroup
	for i, l := range ln.g.loops {
		fd := ln.fds[i]
		stop := func() {
			_ = l.Unwatch(fd)
			unix.Close(fd)
		}
		if l.InLoop() {
			stop()
			continue
		}
		wg.Add(1)
		if err := l.Submit(func() { stop(); wg.Done() }); err != nil {
			// The loop is gone, and its epoll instance with it.
			unix.Close(fd)
			wg.Done()
		}
	}
	wg.Wait()
}

// Close stops accepting and closes the listening socket(s); accepted connections stay.
// A second call returns ErrClosed.
func (ln *Listener) Close() error {
	err := ErrClosed
	ln.once.Do(func() {
		err = nil
		close(ln.closing)
		if ln.p != nil {
			ln.p.wake()
			<-ln.done
			ln.p.close()
			unix.Close(ln.fd)
		} else {
			ln.closeReuse()
		}
		ln.g.mu.Lock()
		delete(ln.g.listeners, ln)
		ln.g.mu.Unlock()
	})
	return err
}
