package net

import (
	"context"
	"fmt"
	stdnet "net"
	"net/netip"
	"strconv"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/task"
)

// Dial connects to addr ("127.0.0.1:8080", "[::1]:80", "localhost:80") with a
// non-blocking connect registered on one of the runtime's loops. The future
// fails with errors that errors.Is matches to the syscall errors
// (syscall.ECONNREFUSED, syscall.ENETUNREACH...) or to ctx's error
// (context.DeadlineExceeded, context.Canceled). Host names are resolved on
// the blocking pool.
func Dial(ctx context.Context, rt *weft.Runtime, network, addr string, opts ...Option) *task.Future[*Stream] {
	if rt == nil {
		return task.Ready[*Stream](nil, ErrNilRuntime)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := checkNetwork(network); err != nil {
		return task.Ready[*Stream](nil, err)
	}
	cfg := newConfig(opts)
	opErr := func(err error) error {
		return &stdnet.OpError{Op: "dial", Net: network, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return task.Ready[*Stream](nil, opErr(err))
	}
	host, portStr, err := stdnet.SplitHostPort(addr)
	if err != nil {
		return task.Ready[*Stream](nil, opErr(err))
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return task.Ready[*Stream](nil, opErr(fmt.Errorf("bad port %q", portStr)))
	}
	if host == "" {
		host = "127.0.0.1"
		if network == "tcp6" {
			host = "::1"
		}
	}
	f := task.NewFuture[*Stream](rt)
	if ip, err := netip.ParseAddr(host); err == nil {
		if !familyOK(network, ip) {
			f.Complete(nil, opErr(fmt.Errorf("%w: address %s for %s", ErrBadNetwork, ip, network)))
			return f
		}
		dialAddr(ctx, rt, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)), cfg, f)
		return f
	}
	// Name resolution blocks; keep it off the workers and the loops.
	err = rt.Scheduler().Blocking(func() {
		ips, err := stdnet.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			f.Complete(nil, opErr(err))
			return
		}
		for _, ip := range ips {
			if familyOK(network, ip) {
				dialAddr(ctx, rt, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)), cfg, f)
				return
			}
		}
		f.Complete(nil, opErr(fmt.Errorf("no %s address for %q", network, host)))
	})
	if err != nil {
		f.Complete(nil, opErr(err))
	}
	return f
}

func familyOK(network string, ip netip.Addr) bool {
	switch network {
	case "tcp4":
		return ip.Unmap().Is4()
	case "tcp6":
		return ip.Is6() && !ip.Is4In6()
	}
	return true
}
