package net

import (
	"context"
	stdnet "net"
	"net/netip"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/task"
)

// dialer is one connect in flight. Whoever flips done first (the loop when the
// socket becomes writable, or the context's cancellation) owns the fd's fate.
type dialer struct {
	rt      *weft.Runtime
	loop    *reactor.Loop
	fd      int
	network string
	addr    netip.AddrPort
	cfg     *config
	f       *task.Future[*Stream]
	done    atomic.Bool
	watched bool // loop-only
	stop    func() bool
	unhook  atomic.Pointer[func()] // set once; read where ordering with the set is not guaranteed
}

func dialAddr(ctx context.Context, rt *weft.Runtime, network string, ap netip.AddrPort, cfg *config, f *task.Future[*Stream]) {
	d := &dialer{rt: rt, network: network, addr: ap, cfg: cfg, f: f}
	g := rt.Reactor()
	if g == nil {
		f.Complete(nil, d.opErr(ErrUnsupported))
		return
	}
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = unix.AF_INET6
		s6 := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		sa = s6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		f.Complete(nil, d.opErr(os.NewSyscallError("socket", err)))
		return
	}
	// Same default as the standard library: small writes go out at once.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, sa)
	if err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		f.Complete(nil, d.opErr(os.NewSyscallError("connect", err)))
		return
	}
	d.fd = fd
	d.loop = g.Next()
	// The reactor does not own a watched fd, so a connect still in flight
	// when the runtime closes is abandoned here, not leaked. Registered
	// before the context callback, whose goroutine then sees it set.
	unhook := rt.OnClose(func() { d.cancel(ErrClosed) })
	d.unhook.Store(&unhook)
	if ctx.Done() != nil {
		d.stop = context.AfterFunc(ctx, func() { d.cancel(ctx.Err()) })
	}
	if err := d.loop.Submit(d.start); err != nil {
		d.finish(ErrClosed, false) // the only way Submit fails
	}
}

func (d *dialer) opErr(err error) error {
	return &stdnet.OpError{Op: "dial", Net: d.network, Addr: stdnet.TCPAddrFromAddrPort(d.addr), Err: err}
}

// start runs on the loop: wait for the connect to finish.
func (d *dialer) start() {
	if d.done.Load() {
		return
	}
	if err := d.loop.Watch(d.fd, unix.EPOLLOUT, d.ready); err != nil {
		d.finish(err, true)
		return
	}
	d.watched = true
}

// ready runs on the loop when the socket is writable: the connect is over,
// and SO_ERROR says how it went.
func (d *dialer) ready(uint32) {
	if !d.done.CompareAndSwap(false, true) {
		return
	}
	d.unwatch()
	if d.stop != nil {
		d.stop()
	}
	d.dropHook()
	soerr, err := unix.GetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = os.NewSyscallError("connect", unix.Errno(soerr))
	}
	if err != nil {
		unix.Close(d.fd)
		d.f.Complete(nil, d.opErr(err))
		return
	}
	// The trampoline outlives the dial (the Conn keeps it), so it must not
	// hold the dialer: OnOpen runs inside Attach, and the stream is then
	// taken from the Conn.
	h := &streamTrampoline{rt: d.rt, cfg: &d.cfg.streamConfig, open: func(*Stream) {}}
	c, err := d.loop.Attach(d.fd, h)
	if err != nil {
		unix.Close(d.fd)
		d.f.Complete(nil, d.opErr(err))
		return
	}
	s, ok := c.Context().(*Stream)
	if !ok {
		d.f.Complete(nil, d.opErr(ErrClosed))
		return
	}
	d.f.Complete(s, nil)
}

func (d *dialer) unwatch() {
	if d.watched {
		d.watched = false
		_ = d.loop.Unwatch(d.fd)
	}
}

func (d *dialer) dropHook() {
	if u := d.unhook.Load(); u != nil {
		(*u)()
	}
}

// cancel runs on the context's goroutine.
func (d *dialer) cancel(cause error) {
	if d.done.Load() {
		return
	}
	if err := d.loop.Submit(func() { d.finish(cause, true) }); err != nil {
		d.finish(cause, false)
	}
}

// finish abandons the connect: on the loop, or anywhere once the loop is gone
// (then the loop's epoll set is gone with it and there is nothing to unwatch).
// It leaves d.stop alone: off the loop it may race with its assignment, and on
// the context path the callback has already fired; a leftover registration
// on a live context only costs a no-op call later.
func (d *dialer) finish(cause error, onLoop bool) {
	if !d.done.CompareAndSwap(false, true) {
		return
	}
	if onLoop {
		d.unwatch()
	}
	d.dropHook()
	unix.Close(d.fd)
	d.f.Complete(nil, d.opErr(cause))
}
