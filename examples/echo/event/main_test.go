package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrt/weft"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// TestEcho runs 10 standard clients, each sending HELLO WORLD[i] for
// i = 1..1024 one at a time and checking every echo byte for byte.
func TestEcho(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ln, err := serve(rt, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	for k := 0; k < 10; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 64)
			for i := 1; i <= 1024; i++ {
				msg := fmt.Appendf(nil, "HELLO WORLD[%d]", i)
				if _, err := c.Write(msg); err != nil {
					t.Error(err)
					return
				}
				if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil || !bytes.Equal(buf[:len(msg)], msg) {
					t.Errorf("message %d: %q, %v", i, buf[:len(msg)], err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestServeBadAddr(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := serve(rt, "127.0.0.1:notaport"); err == nil {
		t.Fatal("serve accepted a bad address")
	}
}
