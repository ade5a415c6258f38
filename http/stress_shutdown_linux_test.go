package http

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	nethttp "net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the bytes read from the socket, so a client can tell
// a response that never started (the server closed first: the request was
// not taken) from one that was cut.
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// TestStressGracefulShutdown shuts the server down while clients keep it
// busy (keep-alive, pipelined, bodies sent in two parts). Every request the
// server took (its handler ran) must reach its client complete; no response
// may be cut; requests it did not take see the connection close before any
// byte of a response, which a client may retry elsewhere.
func TestStressGracefulShutdown(t *testing.T) {
	clients := stressScale(32, 256)
	warm := int64(stressScale(1000, 20000)) // requests served before Shutdown starts
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var handled sync.Map
			var handledN atomic.Int64
			h := HandlerFunc(func(w *ResponseWriter, r *Request) {
				id := string(r.Query)
				handled.Store(id, true)
				handledN.Add(1)
				if m.mode != ModeInline && rand.IntN(4) == 0 {
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond) // work in flight at shutdown
				}
				w.WriteString(id)
				w.Write(r.Body)
			})
			ss := startStress(t, &Server{Handler: h, Mode: m.mode})
			var (
				mu        sync.Mutex
				completed = map[string]bool{}
				cut       []string
				notTaken  atomic.Int64
				nextID    atomic.Int64
				wg        sync.WaitGroup
			)
			for g := 0; g < clients; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					done := map[string]bool{}
					defer func() {
						mu.Lock()
						for id := range done {
							completed[id] = true
						}
						mu.Unlock()
					}()
					for {
						raw, err := net.DialTimeout("tcp", ss.addr, 10*time.Second)
						if err != nil {
							return // refused: the server has stopped accepting
						}
						cc := &countingConn{Conn: raw}
						br := bufio.NewReader(cc)
						again := func() bool {
							defer raw.Close()
							for {
								raw.SetDeadline(time.Now().Add(30 * time.Second))
								depth := 1 + g%2
								ids := make([]string, depth)
								var reqs []byte
								for k := range ids {
									ids[k] = strconv.FormatInt(nextID.Add(1), 10)
									reqs = fmt.Appendf(reqs, "POST /s?%s HTTP/1.1\r\nHost: s\r\nContent-Length: 5\r\n\r\nbody.", ids[k])
								}
								// Two writes: a request may be half-received when Shutdown starts.
								cutAt := len(reqs) - 3
								if _, err := raw.Write(reqs[:cutAt]); err != nil {
									notTaken.Add(int64(depth))
									return false
								}
								if _, err := raw.Write(reqs[cutAt:]); err != nil {
									notTaken.Add(int64(depth))
									return false
								}
								for k, id := range ids {
									before := cc.n - int64(br.Buffered())
									resp, err := nethttp.ReadResponse(br, nil)
									if err != nil {
										if cc.n-int64(br.Buffered()) > before || br.Buffered() > 0 {
											mu.Lock()
											cut = append(cut, fmt.Sprintf("%s: %v", id, err))
											mu.Unlock()
										}
										notTaken.Add(int64(depth - k))
										return false
									}
									b, err := io.ReadAll(resp.Body)
									if err != nil || string(b) != id+"body." {
										mu.Lock()
										cut = append(cut, fmt.Sprintf("%s: %q %v", id, b, err))
										mu.Unlock()
										return false
									}
									done[id] = true
									if resp.Close {
										notTaken.Add(int64(depth - k - 1))
										return true // reconnect: refused once the server is down
									}
								}
							}
						}()
						if !again {
							// The server closed a connection under us: it is
							// shutting down, but try again, it may still accept.
							continue
						}
					}
				}()
			}
			eventually(t, 60*time.Second, "load never got going", func() bool { return handledN.Load() >= warm })
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := ss.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			wg.Wait()
			if len(cut) > 0 {
				t.Fatalf("%d responses cut, first: %s", len(cut), cut[0])
			}
			lost := 0
			handled.Range(func(k, _ any) bool {
				if !completed[k.(string)] {
					lost++
					if lost == 1 {
						t.Errorf("request %s was handled but its response never arrived whole", k)
					}
				}
				return true
			})
			if lost > 0 || int64(len(completed)) != handledN.Load() {
				t.Fatalf("%d handled, %d completed, %d lost", handledN.Load(), len(completed), lost)
			}
			t.Logf("%d clients; %d requests handled, all %d complete, none cut; %d not taken (connection closed before any response byte)",
				clients, handledN.Load(), len(completed), notTaken.Load())
		})
	}
}
