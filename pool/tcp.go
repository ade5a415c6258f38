package pool

import (
	"context"
	"errors"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/task"
)

// TCP is a [Manager] of weft TCP streams to addr ("host:port"), dialled on rt without
// blocking. The pool runs on rt, so New needs no Executor option:
//
//	p, err := pool.New(pool.TCP(rt, "127.0.0.1:6379"), pool.MaxSize(8))
//
// A stream the peer has closed, or that failed, is seen as broken on checkout, on return
// and in the idle sweep without a read: the reactor has already met the EOF or the error,
// and an empty Post reports it at once. This relies on net's default of closing on the
// peer's EOF; a stream dialled with weftnet.HalfClose is not seen as broken until a Read
// meets the EOF. Release a stream only with no Read or Write in flight and no unread
// reply, or the next holder inherits them; Discard it otherwise.
func TCP(rt *weft.Runtime, addr string, opts ...weftnet.Option) Manager[*weftnet.Stream] {
	return &tcpManager{rt: rt, addr: addr, opts: opts}
}

type tcpManager struct {
	rt   *weft.Runtime
	addr string
	opts []weftnet.Option
}

func (m *tcpManager) Executor() task.Executor {
	if m.rt == nil { // a nil *Runtime in the interface would pass New's nil check
		return nil
	}
	return m.rt
}

func (m *tcpManager) ConnectAsync(ctx context.Context) *task.Future[*weftnet.Stream] {
	return weftnet.Dial(ctx, m.rt, "tcp", m.addr, m.opts...)
}

func (m *tcpManager) Connect(ctx context.Context) (*weftnet.Stream, error) {
	return m.ConnectAsync(ctx).Join()
}

func (m *tcpManager) Close(s *weftnet.Stream) error {
	if err := s.Close(); err != nil && !errors.Is(err, weftnet.ErrClosed) {
		return err
	}
	return nil
}

// Check probes with an empty Post: it queues nothing, allocates nothing (unlike a Write,
// which makes a future) and ignores write deadlines, and it returns the stream's sticky
// error if the peer closed it (EPIPE after its EOF), it failed, or it was closed here.
func (m *tcpManager) Check(_ context.Context, s *weftnet.Stream) error { return s.Post(nil) }

func (m *tcpManager) Broken(s *weftnet.Stream) bool { return m.Check(context.Background(), s) != nil }
