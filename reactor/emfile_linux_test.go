package reactor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	childModes["emfile"] = func() int { return emfileChild(false) }
	childModes["emfile-reuseport"] = func() int { return emfileChild(true) }
}

// runChildMode re-executes the test binary in a child mode and fails t on a non-zero
// exit; the child's output is logged.
func runChildMode(t *testing.T, mode string, timeout time.Duration, env ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	return out
}

func TestAcceptEMFILE(t *testing.T) {
	for _, mode := range []string{"emfile", "emfile-reuseport"} {
		t.Run(mode, func(t *testing.T) {
			out := runChildMode(t, mode, 60*time.Second)
			t.Logf("child: %s", bytes.TrimSpace(out))
		})
	}
}

// emfileChild lowers RLIMIT_NOFILE, exhausts descriptors so that the listener's accept
// fails with EMFILE, then frees them and checks the same listener serves again.
func emfileChild(reusePort bool) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		return 1
	}
	g, err := NewGroup(Loops(1), ReusePort(reusePort))
	if err != nil {
		return fail("NewGroup: %v", err)
	}
	defer g.Close()
	ln, err := g.Listen("tcp", "127.0.0.1:0", &echoHandler{})
	if err != nil {
		return fail("Listen: %v", err)
	}
	addr := ln.Addr().String()
	// Warm up the Go netpoller (it needs descriptors of its own) and the echo path.
	if err := echoOnce(addr, "warm"); err != nil {
		return fail("warm-up: %v", err)
	}

	// Lower the limit to a little above what is open now, then fill it up.
	probe, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open: %v", err)
	}
	unix.Close(probe)
	lim := unix.Rlimit{Cur: uint64(probe) + 16, Max: uint64(probe) + 16}
	var old unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &old)
	lim.Max = old.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fail("setrlimit: %v", err)
	}
	var filler []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil {
			return fail("fill: %v", err)
		}
		filler = append(filler, fd)
	}
	// One free descriptor: the client's socket takes it, the server's accept gets EMFILE.
	unix.Close(filler[len(filler)-1])
	filler = filler[:len(filler)-1]

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fail("dial at the limit: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return fail("write: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ln.Backoffs() == 0 {
		if time.Now().After(deadline) {
			return fail("accept never hit EMFILE (accepted %d)", ln.Accepted())
		}
		time.Sleep(time.Millisecond)
	}
	backoffs := ln.Backoffs()

	// Free the descriptors and raise the limit back: the pending connection must be
	// accepted from the backlog and served, and new ones too.
	for _, fd := range filler {
		unix.Close(fd)
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	buf := make([]byte, 4)
	if _, err := c.Read(buf); err != nil || string(buf) != "ping" {
		return fail("echo after freeing fds: %q %v", buf, err)
	}
	for i := 0; i < 5; i++ {
		if err := echoOnce(addr, fmt.Sprintf("again-%d", i)); err != nil {
			return fail("new connection after EMFILE: %v", err)
		}
	}
	fmt.Printf("reusePort=%v backoffs=%d accepted=%d: served again after EMFILE\n", reusePort, backoffs, ln.Accepted())
	return 0
}

func echoOnce(addr, msg string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	got, err := roundTrip(c, []byte(msg), make([]byte, len(msg)))
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}
