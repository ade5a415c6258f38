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

// faultHandlers serves the fault scenarios: /hold waits for its context to
// end, /stream streams until the client goes, /ok answers at once. Each
// handler that starts reports it, and whether its context was cancelled.
type faultHandlers struct {
	started, cancelled, stuck atomic.Int64
	mu                        sync.Mutex
	waiting                   map[string]chan struct{}
}

func (f *faultHandlers) expectStart(id string) <-chan struct{} {
	ch := make(chan struct{})
	f.mu.Lock()
	f.waiting[id] = ch
	f.mu.Unlock()
	return ch
}

func (f *faultHandlers) ServeHTTP(w *ResponseWriter, r *Request) {
	path := string(r.Path)
	if path == "/ok" {
		w.Write(r.Query)
		return
	}
	f.started.Add(1)
	f.mu.Lock()
	if ch := f.waiting[string(r.Query)]; ch != nil {
		close(ch)
		delete(f.waiting, string(r.Query))
	}
	f.mu.Unlock()
	ctx := w.Context()
	limit := time.NewTimer(30 * time.Second)
	defer limit.Stop()
	switch path {
	case "/hold":
		select {
		case <-ctx.Done():
		case <-limit.C:
		}
	case "/stream":
		chunk := pattern[:16<<10]
	loop:
		for {
			w.Write(chunk)
			if err := w.Flush(); err != nil {
				break
			}
			select {
			case <-ctx.Done():
				break loop
			case <-limit.C:
				break loop
			default:
			}
		}
	}
	if ctx.Err() != nil {
		f.cancelled.Add(1)
	} else {
		f.stuck.Add(1)
	}
}

// TestStressClientFaults has clients misbehave while other clients are
// served: they reset (SO_LINGER 0) in the middle of a request's header or
// body, while the handler runs, or in the middle of a streamed response;
// they half-close after the request; they close during a streamed response.
// Every handler in flight must see its context cancelled, nothing may
// panic, and the well-behaved clients must all be served throughout.
func TestStressClientFaults(t *testing.T) {
	k := stressScale(20, 500) // connections per fault kind
	f := &faultHandlers{waiting: map[string]chan struct{}{}}
	ss := startStress(t, &Server{Handler: f, Mode: ModeBlocking})

	// The well-behaved clients: keep-alive round trips until told to stop.
	stop := make(chan struct{})
	var served atomic.Int64
	othersErr := make(chan error, 4)
	var others sync.WaitGroup
	for g := 0; g < 4; g++ {
		others.Add(1)
		go func() {
			defer others.Done()
			c, err := net.DialTimeout("tcp", ss.addr, 10*time.Second)
			if err != nil {
				othersErr <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				q := fmt.Sprintf("g%di%d", g, i)
				if _, err := io.WriteString(c, "GET /ok?"+q+" HTTP/1.1\r\nHost: s\r\n\r\n"); err != nil {
					othersErr <- err
					return
				}
				resp, err := nethttp.ReadResponse(br, nil)
				if err != nil {
					othersErr <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil || string(b) != q {
					othersErr <- fmt.Errorf("well-behaved client got %q, %v", b, err)
					return
				}
				served.Add(1)
			}
		}()
	}

	eventually(t, 20*time.Second, "well-behaved clients never served", func() bool { return served.Load() > 0 || len(othersErr) > 0 })
	servedBefore := served.Load()

	rst := func(c net.Conn) {
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	// readSome reads n bytes of the response, so the reset lands mid-response.
	readSome := func(c net.Conn, n int) error {
		_, err := io.ReadFull(c, make([]byte, n))
		return err
	}
	kinds := []struct {
		name     string
		inFlight bool // a handler runs when the fault happens
		run      func(c net.Conn, id string, started <-chan struct{}) error
	}{
		{"rst-mid-header", false, func(c net.Conn, id string, _ <-chan struct{}) error {
			_, err := io.WriteString(c, "GET /hold?"+id+" HTTP/1.1\r\nHo")
			rst(c)
			return err
		}},
		{"rst-mid-body", false, func(c net.Conn, id string, _ <-chan struct{}) error {
			_, err := io.WriteString(c, "POST /hold?"+id+" HTTP/1.1\r\nHost: s\r\nContent-Length: 1000\r\n\r\n0123456789")
			rst(c)
			return err
		}},
		{"rst-in-handler", true, func(c net.Conn, id string, started <-chan struct{}) error {
			if _, err := io.WriteString(c, "GET /hold?"+id+" HTTP/1.1\r\nHost: s\r\n\r\n"); err != nil {
				return err
			}
			<-started
			rst(c)
			return nil
		}},
		{"rst-mid-response", true, func(c net.Conn, id string, started <-chan struct{}) error {
			if _, err := io.WriteString(c, "GET /stream?"+id+" HTTP/1.1\r\nHost: s\r\n\r\n"); err != nil {
				return err
			}
			err := readSome(c, 40<<10)
			rst(c)
			return err
		}},
		{"half-close", true, func(c net.Conn, id string, started <-chan struct{}) error {
			if _, err := io.WriteString(c, "GET /hold?"+id+" HTTP/1.1\r\nHost: s\r\n\r\n"); err != nil {
				return err
			}
			<-started
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				return err
			}
			// The server closes its side in turn.
			_, err := io.Copy(io.Discard, c)
			c.Close()
			return err
		}},
		{"close-mid-stream", true, func(c net.Conn, id string, started <-chan struct{}) error {
			if _, err := io.WriteString(c, "GET /stream?"+id+" HTTP/1.1\r\nHost: s\r\n\r\n"); err != nil {
				return err
			}
			err := readSome(c, 40<<10)
			c.Close()
			return err
		}},
	}
	inFlight := 0
	var wg sync.WaitGroup
	errs := make(chan error, len(kinds)*k)
	for _, kind := range kinds {
		if kind.inFlight {
			inFlight += k
		}
		for i := 0; i < k; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := kind.name + strconv.Itoa(i)
				started := f.expectStart(id)
				c, err := net.DialTimeout("tcp", ss.addr, 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := kind.run(c, id, started); err != nil {
					errs <- fmt.Errorf("%s %d: %w", kind.name, i, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "in-flight handlers did not all see their context cancelled", func() bool {
		return f.cancelled.Load()+f.stuck.Load() >= int64(inFlight)
	})
	// The loops are still serving once the faults are over.
	after := served.Load()
	eventually(t, 20*time.Second, "well-behaved clients not served after the faults", func() bool { return served.Load() > after || len(othersErr) > 0 })
	close(stop)
	others.Wait()
	close(othersErr)
	for err := range othersErr {
		t.Fatalf("well-behaved client: %v", err)
	}
	if s, c, st := f.started.Load(), f.cancelled.Load(), f.stuck.Load(); s != int64(inFlight) || c != int64(inFlight) || st != 0 {
		t.Fatalf("handlers: %d started, %d cancelled, %d not cancelled; want %d, %d, 0", s, c, st, inFlight, inFlight)
	}
	eventually(t, 10*time.Second, "faulty connections still open on the server", func() bool { return ss.active.Load() == 0 })
	t.Logf("%d faulty connections (%d with a handler in flight, all cancelled); %d well-behaved requests served meanwhile",
		len(kinds)*k, inFlight, served.Load()-servedBefore)
}

// TestStressHalfCloseInline: a client that half-closes after its request
// still gets the whole response from an inline handler, which answers
// before the EOF is seen.
func TestStressHalfCloseInline(t *testing.T) {
	ss := startStress(t, &Server{Handler: pathEcho})
	for i := 0; i < stressScale(50, 1000); i++ {
		c, err := net.DialTimeout("tcp", ss.addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		path := "/half/" + strconv.Itoa(i)
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: s\r\n\r\n")
		c.(*net.TCPConn).CloseWrite()
		br := bufio.NewReader(c)
		resp, err := nethttp.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("half-closed client %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != path {
			t.Fatalf("half-closed client %d: %q %v", i, b, err)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("half-closed client %d: server did not close: %v", i, err)
		}
		c.Close()
	}
	eventually(t, 10*time.Second, "connections still open on the server", func() bool { return ss.active.Load() == 0 })
}
