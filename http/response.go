package http

import (
	"context"
	"errors"
	nethttp "net/http"
	"strconv"
)

// ErrBodyNotAllowed is returned by Write for a status that carries no body
// (1xx, 204, 304). A HEAD response accepts writes and discards them, so the
// same handler serves GET and HEAD.
var ErrBodyNotAllowed = errors.New("http: response status does not allow a body")

// ErrContentLength is returned by Write past a declared Content-Length.
var ErrContentLength = errors.New("http: wrote more than the declared Content-Length")

// autoFlush is how much body a handler may write before the response starts
// streaming on its own; it bounds the memory of a handler that never flushes.
const autoFlush = 64 << 10

// ResponseWriter encodes one response at a time into an append buffer the
// server owns. It is reused for every request of a connection, so a handler
// must not keep it after returning.
//
// Until Flush (or more than 64 KiB of body), the body is buffered and the
// response goes out with a Content-Length; after it, the body is streamed
// chunked (or, for an HTTP/1.0 client, unframed and the connection closed).
type ResponseWriter struct {
	out  []byte // encoded responses, waiting for the server to write them
	hdr  []byte // header lines set by the handler, encoded
	body []byte // body not yet encoded

	// Caches for what nearly every response repeats: the start of a 200
	// response (status line, Server, Date; rebuilt when the Date value
	// changes, once a second) and the last Content-Type line, checked once.
	okHead []byte
	okDate *dateBuf
	okName string
	ctVal  string
	ctLine []byte

	status     int
	clen       int64 // declared by the handler; -1 when not
	written    int64 // body bytes encoded so far (streaming)
	minor      int
	started    bool // status line and headers are in out
	chunked    bool
	raw        bool // HTTP/1.0 stream: no framing, close at end
	head       bool
	close      bool
	serverName string

	flush func(*ResponseWriter) error // set by the server: push out to the connection
	ctx   context.Context
}

// Context is the request's context. For a handler run off the loop it is
// cancelled when the client disconnects or the server closes; inline
// handlers cannot outlive the request, and get context.Background().
func (w *ResponseWriter) Context() context.Context {
	if w.ctx == nil {
		return context.Background()
	}
	return w.ctx
}

// reset prepares w for the response to r.
func (w *ResponseWriter) reset(r *Request) {
	w.hdr, w.body = w.hdr[:0], w.body[:0]
	w.status, w.clen, w.written = 0, -1, 0
	w.started, w.chunked, w.raw = false, false, false
	w.minor, w.head, w.close = r.ProtoMinor, r.IsHead(), r.Close
}

// Status is the status set so far (200 once the header is out without one).
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return 200
	}
	return w.status
}

// WriteHeader sets the status code; the first call wins, later ones are ignored.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.status == 0 && !w.started && code >= 100 && code <= 999 {
		w.status = code
	}
}

// SetClose makes the connection close after this response.
func (w *ResponseWriter) SetClose() { w.close = true }

// SetHeader replaces any field named name with one line name: value.
func (w *ResponseWriter) SetHeader(name, value string) {
	w.DelHeader(name)
	w.AddHeader(name, value)
}

// SetContentType is SetHeader("Content-Type", v).
func (w *ResponseWriter) SetContentType(v string) {
	// Nearly every handler calls this: the name is known to be a token the
	// server does not frame itself, so only the value needs the checks.
	if w.started {
		return
	}
	if len(w.hdr) > 0 {
		w.DelHeader("Content-Type")
	}
	if w.ctLine != nil && v == w.ctVal {
		w.hdr = append(w.hdr, w.ctLine...)
		return
	}
	start := len(w.hdr)
	w.appendField("Content-Type", v)
	w.ctVal, w.ctLine = v, append(w.ctLine[:0], w.hdr[start:]...)
}

// SetContentLength declares the body length. Only a streamed response or a
// HEAD response needs it: a buffered body gets its real length.
func (w *ResponseWriter) SetContentLength(n int64) {
	if !w.started && n >= 0 {
		w.clen = n
	}
}

// AddHeader adds a field line. Fields the server frames itself
// (Content-Length, Transfer-Encoding, Connection, Date) are interpreted
// rather than copied. Names that are not tokens are dropped, and control
// bytes in values (CR, LF, NUL and the rest, which clients refuse) become
// spaces, so a handler cannot split or spoil the response.
func (w *ResponseWriter) AddHeader(name, value string) {
	if w.started || len(name) == 0 {
		return
	}
	for i := 0; i < len(name); i++ {
		if !tchar[name[i]] {
			return
		}
	}
	switch len(name) {
	case 14:
		if eqFoldStr(name, "content-length") {
			if n, ok := parseContentLength([]byte(value)); ok {
				w.clen = n
			}
			return
		}
	case 17:
		if eqFoldStr(name, "transfer-encoding") {
			return
		}
	case 10:
		if eqFoldStr(name, "connection") {
			if eqFoldStr(value, "close") {
				w.close = true
			}
			return
		}
	case 4:
		if eqFoldStr(name, "date") {
			return
		}
	}
	w.appendField(name, value)
}

// appendField encodes name: value, blanking the control bytes of value.
func (w *ResponseWriter) appendField(name, value string) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ':', ' ')
	start := len(w.hdr)
	w.hdr = append(w.hdr, value...)
	w.hdr = append(w.hdr, '\r', '\n')
	// skipValueChars stops at the CR just appended, or at the first byte
	// that must be blanked.
	for i := skipValueChars(w.hdr, start); i < len(w.hdr)-2; i++ {
		if !valueChar[w.hdr[i]] {
			w.hdr[i] = ' '
		}
	}
}

// DelHeader removes the fields named name set so far.
func (w *ResponseWriter) DelHeader(name string) {
	h := w.hdr
	out := h[:0]
	for len(h) > 0 {
		e := 0
		for e+1 < len(h) && !(h[e] == '\r' && h[e+1] == '\n') {
			e++
		}
		line := h[:e+2]
		h = h[e+2:]
		if len(line) > len(name) && line[len(name)] == ':' && eqFoldBoth(line[:len(name)], name) {
			continue
		}
		out = append(out, line...)
	}
	w.hdr = out
}

// Write appends body bytes.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if err := w.checkBody(len(p)); err != nil {
		return 0, err
	}
	if w.head {
		w.written += int64(len(p))
		return len(p), nil
	}
	w.body = append(w.body, p...)
	if len(w.body) > autoFlush {
		return len(p), w.Flush()
	}
	return len(p), nil
}

// WriteString is Write for a string, without converting it.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	if err := w.checkBody(len(s)); err != nil {
		return 0, err
	}
	if w.head {
		w.written += int64(len(s))
		return len(s), nil
	}
	w.body = append(w.body, s...)
	if len(w.body) > autoFlush {
		return len(s), w.Flush()
	}
	return len(s), nil
}

func (w *ResponseWriter) checkBody(n int) error {
	if !bodyAllowed(w.Status()) {
		return ErrBodyNotAllowed
	}
	if w.clen >= 0 && w.started && !w.head && w.written+int64(len(w.body))+int64(n) > w.clen {
		return ErrContentLength
	}
	return nil
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != 204 && code != 304
}

// Flush sends the header and the body written so far; the rest of the body
// streams. With no server attached it only encodes.
func (w *ResponseWriter) Flush() error {
	if !w.started {
		w.startStream()
	}
	w.emitBody()
	if w.flush != nil {
		return w.flush(w)
	}
	return nil
}

func (w *ResponseWriter) startStream() {
	switch {
	case w.head || !bodyAllowed(w.Status()):
		w.writeHead(w.clen)
	case w.clen >= 0:
		w.writeHead(w.clen)
	case w.minor == 1:
		w.chunked = true
		w.writeHead(-1)
	default:
		w.raw, w.close = true, true
		w.writeHead(-1)
	}
}

func (w *ResponseWriter) emitBody() {
	if len(w.body) == 0 {
		return
	}
	if w.chunked {
		w.out = strconv.AppendUint(w.out, uint64(len(w.body)), 16)
		w.out = append(w.out, '\r', '\n')
		w.out = append(w.out, w.body...)
		w.out = append(w.out, '\r', '\n')
	} else {
		w.out = append(w.out, w.body...)
	}
	w.written += int64(len(w.body))
	w.body = w.body[:0]
}

// finish completes the response after the handler returns.
func (w *ResponseWriter) finish() {
	if !w.started {
		n := int64(len(w.body))
		if w.head {
			n = w.written
			if w.clen >= 0 {
				n = w.clen
			}
		}
		w.writeHead(n)
		if !w.head && bodyAllowed(w.Status()) {
			w.out = append(w.out, w.body...)
		}
		w.body = w.body[:0]
		return
	}
	w.emitBody()
	switch {
	case w.chunked:
		w.out = append(w.out, "0\r\n\r\n"...)
	case w.clen >= 0 && w.written != w.clen && !w.head && bodyAllowed(w.Status()):
		// The body fell short of its declared length: the only honest
		// framing left is to close.
		w.close = true
	}
}

// writeHead encodes the status line and header section; clen < 0 means no
// Content-Length (chunked or unframed).
func (w *ResponseWriter) writeHead(clen int64) {
	w.started = true
	code := w.Status()
	// A local slice keeps the appends in registers instead of storing
	// w.out after each one.
	out := w.out
	if code == 200 {
		out = append(out, w.okStart()...)
	} else {
		out = appendStart(out, code, w.serverName)
	}
	out = append(out, w.hdr...)
	if code >= 200 && code != 204 {
		switch {
		case w.chunked:
			out = append(out, "Transfer-Encoding: chunked\r\n"...)
		case clen >= 0 && !(code == 304 && w.clen < 0):
			out = appendContentLength(out, clen)
		}
	}
	switch {
	case w.close:
		out = append(out, "Connection: close\r\n"...)
	case w.minor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	w.out = append(out, '\r', '\n')
}

// appendContentLength appends the Content-Length line, with the digits of
// a small body (the common case) written directly.
func appendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	if n < 0 || n >= 10000 {
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, '\r', '\n')
	}
	var d [6]byte
	i := 4
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	d[4], d[5] = '\r', '\n'
	return append(dst, d[i:]...)
}

// appendStart appends the status line and the Server and Date lines.
func appendStart(dst []byte, code int, server string) []byte {
	dst = appendStatusLine(dst, code)
	if server != "" {
		dst = append(dst, "Server: "...)
		dst = append(dst, server...)
		dst = append(dst, '\r', '\n')
	}
	dst = append(dst, "Date: "...)
	dst = appendDate(dst)
	return append(dst, '\r', '\n')
}

// okStart is appendStart for a 200, from the cache while the Date value
// (a new one each second) and the server name are those it was built with.
func (w *ResponseWriter) okStart() []byte {
	d := currentDate()
	if d == nil || d != w.okDate || w.serverName != w.okName {
		w.okHead = appendStart(w.okHead[:0], 200, w.serverName)
		w.okDate, w.okName = d, w.serverName
	}
	return w.okHead
}

var statusLines [600]string

func init() {
	for code := 100; code < len(statusLines); code++ {
		if t := nethttp.StatusText(code); t != "" {
			statusLines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
}

func appendStatusLine(dst []byte, code int) []byte {
	if code < len(statusLines) && statusLines[code] != "" {
		return append(dst, statusLines[code]...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	return append(dst, " \r\n"...)
}

// appendSimple appends a complete short text response.
func appendSimple(dst []byte, status int, close bool) []byte {
	text := nethttp.StatusText(status)
	dst = appendStatusLine(dst, status)
	dst = append(dst, "Date: "...)
	dst = appendDate(dst)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(text)+1), 10)
	if close {
		dst = append(dst, "\r\nConnection: close"...)
	}
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, text...)
	return append(dst, '\n')
}

// AppendError appends a complete error response for status (as from
// StatusOf) that closes the connection: a short text body naming the status.
func AppendError(dst []byte, status int) []byte { return appendSimple(dst, status, true) }

func eqFoldStr(a, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
