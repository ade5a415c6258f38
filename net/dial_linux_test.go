package net_test

import (
	"context"
	"errors"
	stdnet "net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftrt/weft"
	weftnet "github.com/weftrt/weft/net"
)

// fullListener returns the address of a socket that listens with a backlog of
// zero and never accepts: once its queue is full the kernel drops further
// SYNs, so a connect to it hangs until the caller gives up.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*unix.SockaddrInet4).Port)
	for i := 0; ; i++ {
		if i == 16 {
			t.Skip("could not fill the accept queue")
		}
		c, err := stdnet.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
}

func TestDialTimeout(t *testing.T) {
	rt := newRuntime(t)
	addr := fullListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := wait(t, weftnet.Dial(ctx, rt, "tcp", addr))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	var ne stdnet.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a net.Error with Timeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("dial gave up after %v", el)
	}
}

// TestDialPendingAtClose: a connect still in flight when the runtime closes
// fails with ErrClosed and leaves no fd behind.
func TestDialPendingAtClose(t *testing.T) {
	addr := fullListener(t)
	before := fdCount(t)
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	f := weftnet.Dial(context.Background(), rt, "tcp", addr)
	select {
	case <-f.Done():
		t.Fatal("dial to a full listener finished at once")
	case <-time.After(20 * time.Millisecond):
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, f); !errors.Is(err, weftnet.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	if after := fdCount(t); after != before {
		t.Fatalf("fds: %d before, %d after", before, after)
	}
}
