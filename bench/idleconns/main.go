// Command idleconns measures what an idle keep-alive connection costs a server.
//
// It reads the server's VmRSS, opens -n connections, makes one GET /plaintext on
// each (so that the server has set up whatever per-connection state a served
// request leaves behind), keeps them all open and idle, reads VmRSS again once it
// has settled, and prints one tab-separated line:
//
//	rss_before_kib  rss_after_kib  conns_open  bytes_per_conn
//
// Connections are made by a few workers, not one goroutine each, so the client
// stays small next to the server it measures.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	n := flag.Int("n", 10000, "connections to open and hold")
	pid := flag.Int("pid", 0, "server process whose VmRSS is measured (required)")
	workers := flag.Int("workers", 50, "connections set up concurrently")
	maxSettle := flag.Duration("settle", 3*time.Second, "longest wait for the server's RSS to stop moving")
	timeout := flag.Duration("timeout", 60*time.Second, "bound on the whole set-up")
	flag.Parse()
	if *pid <= 0 {
		fail(errors.New("-pid is required"))
	}

	before, err := vmRSS(*pid)
	if err != nil {
		fail(err)
	}

	conns, err := openAll(*addr, *n, *workers, time.Now().Add(*timeout))
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		fail(err)
	}

	after, err := settledRSS(*pid, *maxSettle)
	if err != nil {
		fail(err)
	}
	open := countOpen(conns)
	per := 0.0
	if open > 0 {
		per = float64(after-before) * 1024 / float64(open)
	}
	fmt.Printf("%d\t%d\t%d\t%.0f\n", before, after, open, per)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "idleconns:", err)
	os.Exit(1)
}

func openAll(addr string, n, workers int, deadline time.Time) ([]net.Conn, error) {
	req := []byte("GET /plaintext HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	conns := make([]net.Conn, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for i := range next {
				c, err := openOne(addr, req, buf, deadline)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := range n {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, firstErr
}

// openOne dials, sends one request and reads exactly one response: headers up
// to the blank line, then Content-Length body bytes, which must be a 200 with
// the plaintext body: a contestant that answers wrongly is not measured.
const wantBody = "Hello, World!"

func openOne(addr string, req, buf []byte, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	have := 0
	for {
		m, err := c.Read(buf[have:])
		have += m
		if end := bytes.Index(buf[:have], []byte("\r\n\r\n")); end >= 0 {
			length, perr := contentLength(buf[:end])
			if perr != nil {
				c.Close()
				return nil, perr
			}
			if have >= end+4+length {
				if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) || string(buf[end+4:end+4+length]) != wantBody {
					c.Close()
					return nil, fmt.Errorf("unexpected response %q", buf[:have])
				}
				break
			}
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		if have == len(buf) {
			c.Close()
			return nil, errors.New("response larger than the read buffer")
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

func contentLength(head []byte) (int, error) {
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			return strconv.Atoi(strings.TrimSpace(value))
		}
	}
	return 0, errors.New("response without Content-Length")
}

// settledRSS samples VmRSS until two samples in a row agree within 1%, because
// a server may still be growing buffers or finishing GC when the last response
// has arrived.
func settledRSS(pid int, max time.Duration) (int64, error) {
	end := time.Now().Add(max)
	prev, err := vmRSS(pid)
	if err != nil {
		return 0, err
	}
	for time.Now().Before(end) {
		time.Sleep(250 * time.Millisecond)
		cur, err := vmRSS(pid)
		if err != nil {
			return 0, err
		}
		diff := cur - prev
		if diff < 0 {
			diff = -diff
		}
		if diff*100 <= cur {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// countOpen tells how many connections the server still holds: a peek that
// would block means open and idle; EOF or an error means the server dropped it.
// It peeks without waiting, so 10,000 checks take milliseconds.
func countOpen(conns []net.Conn) int {
	open := 0
	var one [1]byte
	for _, c := range conns {
		tc, ok := c.(*net.TCPConn)
		if !ok {
			continue
		}
		rc, err := tc.SyscallConn()
		if err != nil {
			continue
		}
		var perr error
		rc.Read(func(fd uintptr) bool {
			_, _, perr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return true
		})
		if perr == syscall.EAGAIN {
			open++
		}
	}
	return open
}

func vmRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}
