package http

import (
	"bufio"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStressPanicStorm: under load, every tenth request's handler panics.
// Each of those gets a 500 on a connection that stays usable, and every
// other request succeeds, in every handler mode.
func TestStressPanicStorm(t *testing.T) {
	clients := stressScale(16, 64)
	perClient := stressScale(200, 2000)
	var panics atomic.Int64
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		n, _ := strconv.Atoi(string(r.Query))
		if n%10 == 0 {
			panics.Add(1)
			panic("storm " + string(r.Query))
		}
		w.Write(r.Query)
	})
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			panics.Store(0)
			ss := startStress(t, &Server{Handler: h, Mode: m.mode})
			var ok, got500 atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for g := 0; g < clients; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.DialTimeout("tcp", ss.addr, 10*time.Second)
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					br := bufio.NewReader(c)
					// Two requests in flight at a time: a panic must not
					// disturb the pipelined request behind it.
					for i := 0; i < perClient; i += 2 {
						c.SetDeadline(time.Now().Add(20 * time.Second))
						n := g*perClient + i
						req := fmt.Sprintf("GET /p?%d HTTP/1.1\r\nHost: s\r\n\r\nGET /p?%d HTTP/1.1\r\nHost: s\r\n\r\n", n, n+1)
						if _, err := io.WriteString(c, req); err != nil {
							errs <- err
							return
						}
						for j := n; j < n+2; j++ {
							resp, err := nethttp.ReadResponse(br, nil)
							if err != nil {
								errs <- fmt.Errorf("request %d: %w", j, err)
								return
							}
							b, err := io.ReadAll(resp.Body)
							if err != nil {
								errs <- fmt.Errorf("request %d: %w", j, err)
								return
							}
							switch {
							case j%10 == 0 && resp.StatusCode == 500:
								got500.Add(1)
							case j%10 != 0 && resp.StatusCode == 200 && string(b) == strconv.Itoa(j):
								ok.Add(1)
							default:
								errs <- fmt.Errorf("request %d: %d %q", j, resp.StatusCode, b)
								return
							}
							if resp.Close {
								errs <- fmt.Errorf("request %d: the server closed the connection", j)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			total := int64(clients * perClient)
			if ok.Load() != total-total/10 || got500.Load() != total/10 || panics.Load() != total/10 {
				t.Fatalf("%d ok, %d answered 500, %d panics; want %d, %d, %d", ok.Load(), got500.Load(), panics.Load(), total-total/10, total/10, total/10)
			}
			t.Logf("%d requests: %d ok, %d panicked and answered 500", total, ok.Load(), got500.Load())
		})
	}
}
