package main

import (
	"encoding/json"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/weftrt/weft/http"
)

// statsDoc is /stats.json. Every counter is cumulative (the page turns them
// into rates from two samples and now_ms); conns, queued, parked, spinning
// and the blocking figures are levels.
type statsDoc struct {
	NowMs     int64          `json:"now_ms"`
	UptimeS   float64        `json:"uptime_s"`
	Mode      string         `json:"mode"`
	Balancer  string         `json:"balancer"`
	ReusePort bool           `json:"reuseport"`
	Loops     []loopDoc      `json:"loops"`
	Scheduler schedDoc       `json:"scheduler"`
	HTTP      httpDoc        `json:"http"`
	Go        goDoc          `json:"go"`
	Stalls    map[string]int `json:"stall_routes"`
}

type loopDoc struct {
	ID       int   `json:"id"`
	Conns    int64 `json:"conns"`
	Accepted int64 `json:"accepted"`
	Closed   int64 `json:"closed"`
	Events   int64 `json:"events"`
	Turns    int64 `json:"turns"`
	Reads    int64 `json:"reads"`
	Writes   int64 `json:"writes"`
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	Tasks    int64 `json:"tasks"`
	Timers   int64 `json:"timers"`
	Paused   int64 `json:"paused"`
}

type schedDoc struct {
	Workers         int    `json:"workers"`
	Spawned         uint64 `json:"spawned"`
	Injected        uint64 `json:"injected"`
	Ran             uint64 `json:"ran"`
	Stolen          uint64 `json:"stolen"`
	Queued          int    `json:"queued"`
	Parked          int    `json:"parked"`
	Spinning        int    `json:"spinning"`
	Handoffs        uint64 `json:"handoffs"`
	BlockingRunning int    `json:"blocking_running"`
	BlockingQueued  int    `json:"blocking_queued"`
}

type httpDoc struct {
	Requests      int64            `json:"requests"`
	Routes        map[string]int64 `json:"routes"`
	Status        map[string]int64 `json:"status"`
	Stalls        int64            `json:"stalls"`          // handlers that held a loop (inline mode)
	LoopStalls    int64            `json:"callback_stalls"` // other callbacks that held a loop
	StallMs       int64            `json:"stall_threshold_ms"`
	AccessDropped int64            `json:"access_log_dropped"`
}

type goDoc struct {
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"`
	GCCycles   uint64 `json:"gc_cycles"`
	Version    string `json:"version"`
}

var goSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/gc/cycles/total:gc-cycles"},
}

func (a *app) stats() statsDoc {
	d := statsDoc{
		NowMs:     time.Now().UnixMilli(),
		UptimeS:   time.Since(a.start).Seconds(),
		Mode:      a.cfg.Mode,
		Balancer:  a.cfg.Balancer,
		ReusePort: a.cfg.ReusePort,
	}
	for _, l := range a.rt.Reactor().Loops() {
		s := l.Stats()
		d.Loops = append(d.Loops, loopDoc{
			ID: s.ID, Conns: s.Conns, Accepted: s.Accepted, Closed: s.Closed, Events: s.Events,
			Turns: s.Turns, Reads: s.Reads, Writes: s.Writes, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
			Tasks: s.Tasks, Timers: s.Timers, Paused: s.Paused,
		})
	}
	s := a.rt.Scheduler().Stats()
	d.Scheduler = schedDoc{
		Workers: s.Workers, Spawned: s.Spawned, Injected: s.Injected, Ran: s.Ran, Stolen: s.Stolen,
		Queued: s.Queued, Parked: s.Parked, Spinning: s.Spinning, Handoffs: s.Handoffs,
		BlockingRunning: s.BlockingRunning, BlockingQueued: s.BlockingQueued,
	}
	d.HTTP.Routes = make(map[string]int64, numRoutes)
	for i := range a.reqs {
		n := a.reqs[i].Load()
		d.HTTP.Requests += n
		if route(i) == routeExtra && n == 0 {
			continue
		}
		d.HTTP.Routes[routeNames[i]] = n
	}
	d.HTTP.Status = map[string]int64{
		"1xx": a.status[1].Load(), "2xx": a.status[2].Load(), "3xx": a.status[3].Load(),
		"4xx": a.status[4].Load(), "5xx": a.status[5].Load(),
	}
	if a.wd != nil {
		d.HTTP.Stalls = a.wd.Stalls()
		d.HTTP.StallMs = a.wd.Threshold().Milliseconds()
		d.Stalls = make(map[string]int)
		for k, v := range a.wd.StallCounts() {
			d.Stalls[k] = int(v)
		}
	}
	d.HTTP.LoopStalls = a.loopStalls.Load()
	if a.stopLoopWatch != nil {
		d.HTTP.StallMs = a.cfg.Stall.Milliseconds()
	}
	if a.alog != nil {
		d.HTTP.AccessDropped = a.alog.dropped.Load()
	}
	samples := make([]metrics.Sample, len(goSamples))
	copy(samples, goSamples)
	metrics.Read(samples)
	d.Go = goDoc{Goroutines: runtime.NumGoroutine(), Version: runtime.Version()}
	if samples[0].Value.Kind() == metrics.KindUint64 {
		d.Go.HeapBytes = samples[0].Value.Uint64()
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		d.Go.GCCycles = samples[1].Value.Uint64()
	}
	return d
}

func (a *app) serveStatsJSON(w *http.ResponseWriter) {
	b, err := json.Marshal(a.stats())
	if err != nil {
		w.WriteHeader(500)
		return
	}
	w.SetContentType("application/json")
	w.SetHeader("Cache-Control", "no-store")
	w.Write(b)
}
