package http

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { stressChildren["fdload"] = fdloadChild }

// TestStressFDExhaustion runs out of descriptors in the server's process
// while clients (in another process) keep connecting. The server must
// degrade, not fail: it serves the connections it could accept, leaves the
// rest waiting in the kernel's backlog, keeps its listener, and once
// descriptors are free again serves every waiting client by itself.
func TestStressFDExhaustion(t *testing.T) {
	n := stressScale(200, 2000)
	const spare = 16 // descriptors left free for the server once the rest are taken
	if _, err := raiseNofile(); err != nil {
		t.Fatal(err)
	}
	ss := startStress(t, &Server{Handler: pathEcho})
	kid := startChild(t, 3*time.Minute, "fdload", ss.addr, strconv.Itoa(n))
	fdBefore := openFDs(t)
	backoffsBefore := ss.ln.Backoffs()

	// Take every free descriptor, then give a few back.
	var hog []int
	release := func() {
		for _, fd := range hog {
			unix.Close(fd)
		}
		hog = nil
	}
	t.Cleanup(release)
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			if !errors.Is(err, unix.EMFILE) && !errors.Is(err, unix.ENFILE) {
				t.Fatalf("open: %v", err)
			}
			break
		}
		hog = append(hog, fd)
	}
	for range spare {
		unix.Close(hog[len(hog)-1])
		hog = hog[:len(hog)-1]
	}

	kid.send("go")
	served := 0
	next := func(d time.Duration) (string, bool) {
		select {
		case line, ok := <-kid.lines:
			if !ok {
				release()
				t.Fatalf("child exited: %s", kid.stderr())
			}
			return line, true
		case <-time.After(d):
			return "", false
		}
	}
	// Degraded: some clients are served, the listener backs off, and it
	// goes on backing off while there is nothing to accept with.
	deadline := time.Now().Add(60 * time.Second)
	for ss.ln.Backoffs() < backoffsBefore+5 || served == 0 {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("no sustained degradation (listener never ran out, or gave up retrying): %d served, %d backoffs", served, ss.ln.Backoffs()-backoffsBefore)
		}
		if line, ok := next(5 * time.Millisecond); ok {
			if !strings.HasPrefix(line, "ok ") {
				release()
				t.Fatalf("child: %q", line)
			}
			served++
		}
	}
	degraded, held := served, ss.active.Load()
	backoffs := ss.ln.Backoffs() - backoffsBefore
	if degraded >= n || held > spare {
		release()
		t.Fatalf("while exhausted: %d of %d served, %d connections held with %d descriptors free", degraded, n, held, spare)
	}

	// Free the descriptors: the server must catch up on its own.
	release()
	for served < n {
		line, ok := next(60 * time.Second)
		if !ok {
			t.Fatalf("after the descriptors were freed, %d of %d served", served, n)
		}
		if !strings.HasPrefix(line, "ok ") {
			t.Fatalf("child: %q: %s", line, kid.stderr())
		}
		served++
	}
	f := kid.expect(30*time.Second, "done")
	if f[0] != strconv.Itoa(n) || f[1] != "0" {
		t.Fatalf("child: done %v", f)
	}
	if a := ss.active.Load(); a != int64(n) {
		t.Fatalf("server holds %d connections, want %d", a, n)
	}
	kid.wait(time.Minute)
	eventually(t, 30*time.Second, "connections still open", func() bool { return ss.active.Load() == 0 })
	eventually(t, 10*time.Second, "descriptors left behind", func() bool { return openFDs(t) <= fdBefore })
	t.Logf("%d clients; with %d descriptors free the server held %d connections and served %d, backing off %d times; freed, it served all %d, lost 0",
		n, spare, held, degraded, backoffs, n)
}

// fdloadChild waits for "go", then opens n connections at once, each
// sending one request; it prints "ok i" per response and "done ok failed"
// at the end, and keeps the connections until its stdin closes.
func fdloadChild(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: fdload addr n")
	}
	addr := args[0]
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		return errors.New("no 'go' from the parent")
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	conns := make([]net.Conn, n)
	ok := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 60*time.Second)
			if err != nil {
				fmt.Fprintf(os.Stderr, "dial %d: %v\n", i, err)
				return
			}
			conns[i] = c
			h := &heldConn{c: c, r: bufio.NewReaderSize(c, 256)}
			if err := h.roundTrip(i); err != nil {
				fmt.Fprintf(os.Stderr, "conn %d: %v\n", i, err)
				return
			}
			mu.Lock()
			ok++
			fmt.Println("ok", i)
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Println("done", ok, n-ok)
	for in.Scan() {
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return nil
}
