package main

import (
	"errors"
	"io/fs"
	"mime"
	nethttp "net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	wfs "github.com/weftrt/weft/fs"
	"github.com/weftrt/weft/http"
)

// defaultRoot is where `go run ./cmd/httpd` finds its files when started
// from the repository root.
const defaultRoot = "cmd/httpd/static"

// staticFiles serves the files under root at /static/. No request can
// reach outside root: dot-dot segments are refused whether written plainly
// or percent-encoded, and the path is resolved through every symlink and
// must still lie under the (equally resolved) root.
type staticFiles struct {
	root string // absolute, symlinks resolved; "" when there is none
	// fsys, when set, opens, stats and reads the files (io_uring, or the
	// blocking pool where io_uring is unavailable); the handler then waits
	// on its futures, so it must not run on a loop. nil: package os, for
	// -mode inline, where the handler runs on the loop by request.
	fsys *wfs.FS
}

// staticFile is an open file, read by offset: an *os.File, or an fs.File
// whose futures the handler waits for.
type staticFile interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
}

type asyncFile struct{ f *wfs.File }

func (a asyncFile) ReadAt(p []byte, off int64) (int, error) { return a.f.ReadAt(p, off).Join() }

// Close does not wait: nothing of the file is in flight any more, and a
// close error on a file only read changes nothing for the response, so the
// worker goes back to the pool one wake-up sooner.
func (a asyncFile) Close() error {
	a.f.Close()
	return nil
}

// open opens name for reading, refusing a symlink in the last component
// (O_NOFOLLOW): resolve checked the path, and a link swapped in since then
// must not be followed out of the root.
func (s *staticFiles) open(name string) (staticFile, os.FileInfo, error) {
	if s.fsys == nil {
		f, err := os.OpenFile(name, os.O_RDONLY|oNoFollow, 0)
		if err != nil {
			return nil, nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return f, fi, nil
	}
	f, err := s.fsys.OpenFile(name, os.O_RDONLY|oNoFollow, 0).Join()
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat().Join()
	if err != nil {
		f.Close().Join()
		return nil, nil, err
	}
	return asyncFile{f}, fi, nil
}

// openStatic resolves root. An empty root means the demo's own folder:
// defaultRoot under the working directory, else the folder beside this
// source file (go run from elsewhere in the module); if neither exists,
// /static/ answers 404 rather than the server refusing to start.
func openStatic(root string) (*staticFiles, error) {
	if root == "" {
		for _, c := range defaultRoots() {
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				root = c
				break
			}
		}
		if root == "" {
			return &staticFiles{}, nil
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "static root", Path: root, Err: errors.New("not a directory")}
	}
	return &staticFiles{root: real}, nil
}

func defaultRoots() []string {
	roots := []string{defaultRoot}
	if _, file, _, ok := runtime.Caller(0); ok {
		roots = append(roots, filepath.Join(filepath.Dir(file), "static"))
	}
	return roots
}

var errOutside = errors.New("outside the root")

// resolve maps the part of a request path after /static to a file under
// root. It answers the status to send when it cannot.
func (s *staticFiles) resolve(rel string) (string, int) {
	if s.root == "" {
		return "", 404
	}
	dec, err := url.PathUnescape(rel)
	if err != nil || strings.ContainsAny(dec, "\x00\\") {
		return "", 400
	}
	for _, seg := range strings.Split(dec, "/") {
		switch {
		case seg == "..":
			return "", 403
		case strings.HasPrefix(seg, ".") && seg != ".":
			// Dotfiles (.git, .env) are not for serving.
			return "", 404
		}
	}
	full := filepath.Join(s.root, filepath.FromSlash(path.Clean("/"+dec)))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", 404
		}
		return "", 403
	}
	if real != s.root && !strings.HasPrefix(real, s.root+string(filepath.Separator)) {
		return "", 403
	}
	return real, 0
}

// chunkSize is how much of a file is read and flushed at a time: large
// files stream through one buffer this size, never whole in memory. Off the
// loop each Flush waits while the connection's queue is above its high
// watermark, so a slow client holds back the reads, not the loop.
const chunkSize = 64 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func (s *staticFiles) serve(w *http.ResponseWriter, r *http.Request) {
	if m := string(r.Method); m != "GET" && m != "HEAD" {
		w.SetHeader("Allow", "GET, HEAD")
		status(w, 405)
		return
	}
	rel := strings.TrimPrefix(string(r.Path), "/static")
	name, code := s.resolve(rel)
	if code != 0 {
		status(w, code)
		return
	}
	f, fi, err := s.open(name)
	if err != nil {
		status(w, 404)
		return
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	if fi.IsDir() {
		if !strings.HasSuffix(rel, "/") {
			w.SetHeader("Location", string(r.Path)+"/")
			status(w, 301)
			return
		}
		idx, code := s.resolve(rel + "index.html")
		if code != 0 {
			status(w, code)
			return
		}
		f.Close()
		if f, fi, err = s.open(idx); err != nil {
			status(w, 404)
			return
		}
		name = idx
	}
	if !fi.Mode().IsRegular() {
		status(w, 404)
		return
	}
	serveFile(w, r, f, name, fi)
}

func serveFile(w *http.ResponseWriter, r *http.Request, f staticFile, name string, fi os.FileInfo) {
	size := fi.Size()
	mod := fi.ModTime().UTC().Truncate(time.Second)
	lastMod := mod.Format(nethttp.TimeFormat)
	w.SetHeader("Last-Modified", lastMod)
	w.SetHeader("Accept-Ranges", "bytes")

	if ims := r.Header("If-Modified-Since"); ims != nil && !mod.IsZero() {
		if t, err := nethttp.ParseTime(string(ims)); err == nil && !mod.After(t) {
			w.WriteHeader(304)
			return
		}
	}
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype == "" {
		var head [512]byte
		n, _ := f.ReadAt(head[:], 0)
		ctype = nethttp.DetectContentType(head[:n])
	}
	w.SetContentType(ctype)

	start, n := int64(0), size
	if rh := r.Header("Range"); rh != nil && ifRangeHolds(r, lastMod) {
		s, l, ok, satisfiable := parseRange(string(rh), size)
		switch {
		case ok && !satisfiable:
			w.SetHeader("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			status(w, 416)
			return
		case ok:
			start, n = s, l
			w.SetHeader("Content-Range", "bytes "+strconv.FormatInt(s, 10)+"-"+
				strconv.FormatInt(s+l-1, 10)+"/"+strconv.FormatInt(size, 10))
			w.WriteHeader(206)
		}
	}
	w.SetContentLength(n)
	if r.IsHead() {
		return
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for off, end := start, start+n; off < end; {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				w.SetClose()
				return
			}
			off += int64(k)
		}
		if off == end {
			return // the last chunk goes out with the response's end
		}
		if err != nil {
			// The file shrank or failed under us. Part of the body may be
			// out: a short body with its full Content-Length makes the
			// server close the connection.
			w.SetClose()
			return
		}
		if w.Flush() != nil {
			w.SetClose()
			return
		}
	}
}

// ifRangeHolds: a Range with an If-Range validator other than the current
// Last-Modified is ignored, and the whole (changed) file is sent.
func ifRangeHolds(r *http.Request, lastMod string) bool {
	ir := r.Header("If-Range")
	return ir == nil || string(ir) == lastMod
}

// parseRange reads a Range header for a file of size bytes. ok is false
// for anything this server does not honour: not "bytes=", malformed, or
// several ranges (a server may answer those with the whole file). When ok,
// satisfiable says whether the range overlaps the file, and start and n
// are the bytes to send.
func parseRange(h string, size int64) (start, n int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	spec = strings.TrimSpace(spec)
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, false
	}
	if first == "" {
		// Suffix: the last N bytes.
		sfx, err := strconv.ParseInt(last, 10, 64)
		if err != nil || sfx < 0 {
			return 0, 0, false, false
		}
		if sfx == 0 || size == 0 {
			return 0, 0, true, false
		}
		sfx = min(sfx, size)
		return size - sfx, sfx, true, true
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false, false
	}
	e := size - 1
	if last != "" {
		if e, err = strconv.ParseInt(last, 10, 64); err != nil || e < s {
			return 0, 0, false, false
		}
		e = min(e, size-1)
	}
	if s >= size {
		return 0, 0, true, false
	}
	return s, e - s + 1, true, true
}

func status(w *http.ResponseWriter, code int) {
	w.WriteHeader(code)
	w.SetContentType("text/plain; charset=utf-8")
	w.WriteString(strconv.Itoa(code) + " " + nethttp.StatusText(code) + "\n")
}
