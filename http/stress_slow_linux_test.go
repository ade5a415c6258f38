package http

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftrt/weft/reactor"
)

// pattern is the body every slow-reader response carries, repeated: the
// reader checks each byte, so a lost or reordered piece cannot pass.
var pattern = []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 1024)) // 36 KiB

func checkPattern(b []byte, off int64) bool {
	for i, c := range b {
		if c != pattern[(off+int64(i))%int64(len(pattern))] {
			return false
		}
	}
	return true
}

// TestStressSlowReaders has clients ask for large responses and then not
// read them. The server must stop producing once a connection's queue
// reaches the high watermark: memory stays bounded per connection and in
// total, whether the response is streamed by a handler off the loop or
// made of many pipelined responses served inline. When the clients finally
// read, every byte arrives.
func TestStressSlowReaders(t *testing.T) {
	const high, low = 64 << 10, 16 << 10
	conns := stressScale(8, 64)
	const streamBytes = 8 << 20
	const bigBytes = 256 << 10
	const depth = 32 // pipelined requests per inline connection: 8 MiB of responses
	var produced atomic.Int64
	stream := HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.SetContentLength(streamBytes)
		for off := 0; off < streamBytes; {
			k := min(32<<10, streamBytes-off)
			for k > 0 {
				p := pattern[off%len(pattern):]
				p = p[:min(len(p), k)]
				if _, err := w.Write(p); err != nil {
					return
				}
				off += len(p)
				k -= len(p)
				produced.Add(int64(len(p)))
			}
			if err := w.Flush(); err != nil {
				return
			}
		}
	})
	big := NonBlocking(HandlerFunc(func(w *ResponseWriter, r *Request) {
		for off := 0; off < bigBytes; {
			p := pattern[off%len(pattern):]
			p = p[:min(len(p), bigBytes-off)]
			w.Write(p)
			off += len(p)
			produced.Add(int64(len(p)))
		}
	}))
	for _, tc := range []struct {
		name    string
		h       Handler
		mode    Mode
		req     string
		resps   int
		size    int64
		perConn int // what one connection may queue: the watermark plus one write
	}{
		{"streamed", stream, ModeBlocking, "GET /stream HTTP/1.1\r\nHost: s\r\n\r\n", 1, streamBytes, high + 64<<10},
		{"pipelined", big, ModeInline, strings.Repeat("GET /big HTTP/1.1\r\nHost: s\r\n\r\n", depth), depth, bigBytes, high + bigBytes + 64<<10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			produced.Store(0)
			ss := startStress(t, &Server{Handler: tc.h, Mode: tc.mode}, reactor.Watermarks(high, low))
			heapBefore := heapAfterGC()
			d := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
				// A small receive window keeps the kernel from soaking up
				// the response, so the server's own queue is what fills.
				return rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096) })
			}}
			cs := make([]net.Conn, conns)
			for i := range cs {
				c, err := d.DialContext(context.Background(), "tcp", ss.addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if _, err := io.WriteString(c, tc.req); err != nil {
					t.Fatal(err)
				}
				cs[i] = c
			}
			// Watch the server until it stops producing: the handlers are
			// then blocked on backpressure (or the responses are all out).
			var maxTotal, maxConn int
			var maxHeap uint64
			last, still := int64(-1), 0
			deadline := time.Now().Add(30 * time.Second)
			for still < 20 {
				if time.Now().After(deadline) {
					t.Fatalf("server still producing after 30s (%d bytes)", produced.Load())
				}
				total, largest := ss.outbound(t)
				maxTotal, maxConn = max(maxTotal, total), max(maxConn, largest)
				if p := produced.Load(); p == last {
					still++
				} else {
					last, still = p, 0
				}
				time.Sleep(10 * time.Millisecond) // sampling period, not synchronisation
			}
			maxHeap = heapAfterGC()
			want := int64(conns) * int64(tc.resps) * tc.size
			t.Logf("%d slow connections: produced %d of %d bytes before blocking; queued at most %d KiB per connection, %d KiB in total; heap %+d KiB",
				conns, last, want, maxConn>>10, maxTotal>>10, (int64(maxHeap)-int64(heapBefore))>>10)
			if maxConn > tc.perConn {
				t.Fatalf("one connection queued %d bytes, bound %d", maxConn, tc.perConn)
			}
			if maxTotal > conns*tc.perConn {
				t.Fatalf("connections queued %d bytes in total, bound %d", maxTotal, conns*tc.perConn)
			}
			if last >= want {
				t.Fatalf("the server produced every response (%d bytes) for clients that read nothing", last)
			}
			// The heap holds the queues and the handlers' buffers; twice
			// the queue bound plus a little is generous, a response held
			// whole per connection is not.
			if grow := int64(maxHeap) - int64(heapBefore); grow > int64(2*conns*tc.perConn+8<<20) {
				t.Fatalf("heap grew by %d bytes", grow)
			}

			// Now read: every response arrives, complete and in order.
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i, c := range cs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.SetDeadline(time.Now().Add(2 * time.Minute))
					br := bufio.NewReaderSize(c, 64<<10)
					for k := 0; k < tc.resps; k++ {
						resp, err := nethttp.ReadResponse(br, nil)
						if err != nil {
							errs <- fmt.Errorf("conn %d response %d: %w", i, k, err)
							return
						}
						var off int64
						buf := make([]byte, 32<<10)
						for {
							n, err := resp.Body.Read(buf)
							if !checkPattern(buf[:n], off) {
								errs <- fmt.Errorf("conn %d response %d: wrong bytes at %d", i, k, off)
								return
							}
							off += int64(n)
							if err == io.EOF {
								break
							}
							if err != nil {
								errs <- fmt.Errorf("conn %d response %d at %d: %w", i, k, off, err)
								return
							}
						}
						if off != tc.size {
							errs <- fmt.Errorf("conn %d response %d: %d bytes, want %d", i, k, off, tc.size)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if p := produced.Load(); p != want {
				t.Fatalf("produced %d bytes, want %d", p, want)
			}
		})
	}
}
