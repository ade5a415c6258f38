package net_test

import (
	"runtime"
	"testing"

	weftnet "github.com/weftrt/weft/net"
)

// BenchmarkIdleStreamHeap reports the Go heap an idle, established stream
// costs (the Stream and its reactor Conn; both ends are weft streams, so the
// figure is per pair divided by two). Inbound and outbound buffers go back to
// the loop's pool when idle, so this is the resting cost of a keep-alive
// connection.
func BenchmarkIdleStreamHeap(b *testing.B) {
	const n = 1000
	rt := newRuntime(b)
	ln := listen(b, rt)
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		b.StartTimer()
		streams := make([]*weftnet.Stream, 0, 2*n)
		for j := 0; j < n; j++ {
			c, s := pair(b, rt, ln)
			streams = append(streams, c, s)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc-before)/float64(2*n), "heapB/stream")
		runtime.KeepAlive(streams)
		for _, s := range streams {
			s.Close()
		}
		b.StartTimer()
	}
}
