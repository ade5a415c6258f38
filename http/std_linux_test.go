package http

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFromStdFileServer(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 300<<10) // larger than the 64 KiB auto-flush: streamed with Content-Length
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "blob.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small.txt"), []byte("hello file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &Server{Handler: FromStd(nethttp.FileServer(nethttp.Dir(dir)))})
	cl := newClient(t)
	get := func(path string, hdr map[string]string) (*nethttp.Response, []byte) {
		t.Helper()
		req, _ := nethttp.NewRequest("GET", "http://"+addr+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, b := get("/blob.bin", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("whole file: status %d, %d bytes, equal %v", resp.StatusCode, len(b), bytes.Equal(b, data))
	}
	resp, b = get("/small.txt", nil)
	if string(b) != "hello file\n" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Last-Modified") == "" {
		t.Fatalf("small: %q %v", b, resp.Header)
	}
	resp, b = get("/blob.bin", map[string]string{"Range": "bytes=1000-1999"})
	if resp.StatusCode != 206 || !bytes.Equal(b, data[1000:2000]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(data)) {
		t.Fatalf("range: status %d len %d %v", resp.StatusCode, len(b), resp.Header)
	}
	resp, b = get("/blob.bin", map[string]string{"Range": "bytes=-100"})
	if resp.StatusCode != 206 || !bytes.Equal(b, data[len(data)-100:]) {
		t.Fatalf("suffix range: status %d len %d", resp.StatusCode, len(b))
	}
	resp, b = get("/blob.bin", map[string]string{"Range": "bytes=0-9,20-29"})
	if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(b, data[0:10]) || !bytes.Contains(b, data[20:30]) {
		t.Fatalf("multi range: status %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = get("/blob.bin", map[string]string{"Range": "bytes=999999999-"})
	if resp.StatusCode != 416 {
		t.Fatalf("unsatisfiable range: %d", resp.StatusCode)
	}
	resp2, _ := get("/missing", nil)
	if resp2.StatusCode != 404 {
		t.Fatalf("missing: %d", resp2.StatusCode)
	}
	req, _ := nethttp.NewRequest("HEAD", "http://"+addr+"/blob.bin", nil)
	hr, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.ContentLength != int64(len(data)) {
		t.Fatalf("HEAD content-length %d", hr.ContentLength)
	}
}

func TestFromStdHeadersBodyFlush(t *testing.T) {
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-UA", r.Header.Get("User-Agent"))
		w.Header().Set("X-Query", r.URL.Query().Get("q"))
		w.Header().Set("X-Remote", fmt.Sprint(r.RemoteAddr != ""))
		w.Header().Add("X-Multi", "1")
		w.Header().Add("X-Multi", "2")
		w.WriteHeader(201)
		fmt.Fprintf(w, "got %d bytes: %s;", len(body), body)
		w.(nethttp.Flusher).Flush()
		io.WriteString(w, "after flush")
	})
	addr := serve(t, &Server{Handler: FromStd(h)})
	cl := newClient(t)
	req, _ := nethttp.NewRequest("POST", "http://"+addr+"/x?q=v", strings.NewReader("payload"))
	req.Header.Set("User-Agent", "weft-test")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(b) != "got 7 bytes: payload;after flush" {
		t.Fatalf("status %d body %q", resp.StatusCode, b)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("flushed response not chunked: %v", resp.TransferEncoding)
	}
	for k, v := range map[string]string{"X-Method": "POST", "X-Host": addr, "X-Ua": "weft-test", "X-Query": "v", "X-Remote": "true"} {
		if resp.Header.Get(k) != v {
			t.Fatalf("%s = %q, want %q", k, resp.Header.Get(k), v)
		}
	}
	if len(resp.Header["X-Multi"]) != 2 {
		t.Fatalf("X-Multi %v", resp.Header["X-Multi"])
	}
}

// The request context of a standard handler ends when the client goes away.
func TestFromStdContextCancelledOnDisconnect(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan error, 1)
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			cancelled <- r.Context().Err()
		case <-time.After(10 * time.Second):
			cancelled <- nil
		}
	})
	addr := serve(t, &Server{Handler: FromStd(h)})
	c := dial(t, addr)
	c.Write([]byte("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"))
	<-entered
	c.Close()
	if err := <-cancelled; err == nil {
		t.Fatal("context not cancelled on disconnect")
	}
}

func TestFromStdPipelined(t *testing.T) {
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		io.WriteString(w, r.URL.Path)
	})
	addr := serve(t, &Server{Handler: FromStd(h)})
	c := dial(t, addr)
	var batch bytes.Buffer
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&batch, "GET /s%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	c.Write(batch.Bytes())
	got := readResponses(t, bufio.NewReader(c), 16, "GET")
	for i, g := range got {
		if want := fmt.Sprintf("200 /s%d", i); g != want {
			t.Fatalf("%d: %q, want %q", i, g, want)
		}
	}
}
