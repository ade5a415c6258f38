package http

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rawConn connects with bare syscalls so that the client side holds no Go
// heap and the heap delta is the server's alone.
func rawConn(t testing.TB, addr *net.TCPAddr) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &unix.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := unix.Connect(fd, sa); err == unix.EINTR {
		// The connect goes on in the background: wait for its outcome.
		err = waitConnected(fd)
		if err != nil {
			unix.Close(fd)
			t.Fatal(err)
		}
	} else if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	tv := unix.Timeval{Sec: 10}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return fd
}

func waitConnected(fd int) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		if _, err := unix.Poll(pfd, 10000); err == unix.EINTR {
			continue
		} else if err != nil {
			return err
		}
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soerr != 0 {
			return unix.Errno(soerr)
		}
		return nil
	}
}

// rawRead and rawWrite retry what a signal interrupted: with SO_RCVTIMEO
// set, the kernel does not restart a blocked socket call, and the Go
// runtime's preemption signal lands in the middle of them now and then.
func rawRead(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func rawWrite(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// An idle keep-alive connection (one request served, waiting for the next)
// must cost the server well under 1 KiB of heap.
func TestIdleConnMemory(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	s := &Server{Handler: plaintext}
	addr, _ := net.ResolveTCPAddr("tcp", serve(t, s))
	req := []byte("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 1024)
	open := func(k int) []int {
		fds := make([]int, 0, k)
		for i := 0; i < k; i++ {
			fd := rawConn(t, addr)
			fds = append(fds, fd)
			if _, err := rawWrite(fd, req); err != nil {
				t.Fatal(err)
			}
			got := 0
			for !bytes.Contains(buf[:got], []byte("Hello, World!")) {
				m, err := rawRead(fd, buf[got:])
				if err != nil || m == 0 {
					t.Fatalf("read: %d %v", m, err)
				}
				got += m
			}
		}
		return fds
	}
	// Warm up: grow the loops' tables and pools to this size once.
	for _, fd := range open(n) {
		unix.Close(fd)
	}
	waitActive(t, s, 0)
	before := heapInUse()
	fds := open(n)
	after := heapInUse()
	for _, fd := range fds {
		unix.Close(fd)
	}
	per := float64(int64(after)-int64(before)) / float64(n)
	t.Logf("%d idle keep-alive connections: %.0f bytes of heap each", n, per)
	if per > 1024 {
		t.Errorf("%.0f bytes per idle connection, want <= 1024", per)
	}
}

// waitActive waits, boundedly, until the server has n open connections.
func waitActive(t testing.TB, s *Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.active.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", s.active.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
