// Package echocheck is the checking client of the echo demos: conns connections,
// each sending "HELLO WORLD[i]" for i = 1..n one at a time and requiring the
// same bytes back. The three echo servers (reactor, futures, event) share it so
// that they are held to exactly the same bar.
package echocheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Run opens conns connections to addr concurrently and checks n echoes on each.
// It returns every connection's error, joined.
func Run(addr string, conns, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for k := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = one(addr, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func one(addr string, n int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64)
	for i := 1; i <= n; i++ {
		msg := fmt.Appendf(nil, "HELLO WORLD[%d]", i)
		// A deadline per message bounds a lost echo without capping a slow run.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return err
		}
		got := buf[:len(msg)]
		if _, err := io.ReadFull(c, got); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if !bytes.Equal(got, msg) {
			return fmt.Errorf("message %d: got %q, want %q", i, got, msg)
		}
	}
	return nil
}
