// Package gstack finds goroutines by id in the runtime's stack dumps. The loop
// watchdogs of reactor and http use it to show where a stalled loop is: the
// id is recorded once, cheaply enough, and the (stop-the-world) dump of all
// stacks is taken only when a stall is seen.
package gstack

import (
	"bytes"
	"runtime"
	"strconv"
)

// CurrentID parses "goroutine N [" from the caller's own stack header; 0 if
// the header cannot be read.
func CurrentID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		if id, err := strconv.ParseInt(string(b[:i]), 10, 64); err == nil {
			return id
		}
	}
	return 0
}

// Of returns the stack of goroutine id, cut from a dump of all goroutines.
func Of(id int64) []byte {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	head := []byte("goroutine " + strconv.FormatInt(id, 10) + " [")
	for len(buf) > 0 {
		block := buf
		if end := bytes.Index(buf, []byte("\n\n")); end >= 0 {
			block, buf = buf[:end], buf[end+2:]
		} else {
			buf = nil
		}
		if bytes.HasPrefix(block, head) {
			return bytes.Clone(block)
		}
	}
	return []byte("(goroutine " + strconv.FormatInt(id, 10) + " not found)")
}
