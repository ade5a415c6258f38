package main

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft/http"
)

// accessLog writes one slog record per request from its own goroutine: a
// handler on the loop only copies a few fields into a channel, because a
// write to stderr (a terminal, a pipe that fills) may block, and a loop
// must not. When the writer falls behind, records are dropped and counted
// rather than stalling every connection of the loop.
type accessLog struct {
	log     *slog.Logger
	ch      chan accessRecord
	dropped atomic.Int64
	done    chan struct{}
	once    sync.Once
}

type accessRecord struct {
	at     time.Time
	remote string
	method string
	target string
	status int
	dur    time.Duration
}

func newAccessLog(l *slog.Logger, depth int) *accessLog {
	al := &accessLog{log: l, ch: make(chan accessRecord, depth), done: make(chan struct{})}
	go al.run()
	return al
}

func (al *accessLog) add(r *http.Request, status int, dur time.Duration) {
	rec := accessRecord{at: time.Now(), method: string(r.Method), target: string(r.Target), status: status, dur: dur}
	if r.RemoteAddr != nil {
		rec.remote = r.RemoteAddr.String()
	}
	select {
	case al.ch <- rec:
	default:
		al.dropped.Add(1)
	}
}

func (al *accessLog) run() {
	defer close(al.done)
	for rec := range al.ch {
		al.log.Info("request",
			"time", rec.at.Format(time.RFC3339Nano),
			"remote", rec.remote,
			"method", rec.method,
			"target", rec.target,
			"status", rec.status,
			"dur", rec.dur.String())
	}
}

// close flushes what is queued. Only after the server has stopped calling add.
func (al *accessLog) close() {
	al.once.Do(func() { close(al.ch) })
	<-al.done
}
