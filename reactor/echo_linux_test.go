package reactor

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"golang.org/x/sync/errgroup"
)

// runEchoClient is the original demo's client: conns connections, each sending
// "HELLO WORLD[i]" for i = 1..n and checking every echo byte for byte.
func runEchoClient(addr string, conns, n int) error {
	var eg errgroup.Group
	for k := 0; k < conns; k++ {
		eg.Go(func() error {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			buf := make([]byte, 64)
			for i := 1; i <= n; i++ {
				msg := []byte(fmt.Sprintf("HELLO WORLD[%d]", i))
				got, err := roundTrip(c, msg, buf)
				if err != nil {
					return fmt.Errorf("conn %d msg %d: %w", k, i, err)
				}
				if !bytes.Equal(got, msg) {
					return fmt.Errorf("conn %d: got %q want %q", k, got, msg)
				}
			}
			return nil
		})
	}
	return eg.Wait()
}

func TestEcho10x1024(t *testing.T) {
	for _, rp := range []bool{false, true} {
		t.Run(fmt.Sprintf("reuseport=%v", rp), func(t *testing.T) {
			g := newTestGroup(t, Loops(2), ReusePort(rp))
			h := &echoHandler{}
			ln := listenEcho(t, g, h)
			if err := runEchoClient(ln.Addr().String(), 10, 1024); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "10 closes", func() bool { _, c := h.counts(); return c == 10 })
			var total int64
			for _, l := range g.Loops() {
				s := l.Stats()
				total += s.Accepted
				if s.Conns != 0 {
					t.Errorf("loop %d still has %d conns", s.ID, s.Conns)
				}
			}
			if total != 10 {
				t.Errorf("accepted %d, want 10", total)
			}
		})
	}
}
