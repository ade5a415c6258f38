package fs_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/weftrt/weft/fs"
	"github.com/weftrt/weft/task"
)

const (
	benchFileSize = 256 << 20
	benchBlock    = 4096
)

func benchFile(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "256m")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for off := 0; off < benchFileSize; off += len(chunk) {
		for i := range chunk {
			chunk[i] = byte(rng.Uint32())
		}
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	// Written back before any contender runs: otherwise the kernel's writeback of 256 MiB
	// of dirty pages lands on whichever sub-benchmark happens to run when it starts.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// offsets are precomputed so every contender pays the same (nothing) for randomness.
func benchOffsets() []int64 {
	rng := rand.New(rand.NewPCG(5, 6))
	offs := make([]int64, 1<<16)
	for i := range offs {
		offs[i] = int64(rng.IntN(benchFileSize/benchBlock)) * benchBlock
	}
	return offs
}

// alignedBlock returns a benchBlock-sized buffer aligned for O_DIRECT.
func alignedBlock() []byte {
	b := make([]byte, 2*benchBlock)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (benchBlock - 1))
	if off != 0 {
		off = benchBlock - off
	}
	return b[off : off+benchBlock : off+benchBlock]
}

// cpuTime is the process's user+system CPU time: per op, it shows what each contender
// costs the machine, not only how fast it goes.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRandomRead4K: random 4 KiB ReadAt on a 256 MiB file through io_uring, the
// blocking pool, and os.File.ReadAt on goroutines, at queue depths 1, 16 and 128, twice:
// "cached" reads hit the page cache (the file was just written), "direct" reads use
// O_DIRECT so every read goes to the device. "uring" is the default wiring (the ring's
// eventfd watched by a reactor loop), "uring-reaper" the same ring reaped by a goroutine
// parked in Go's netpoller (WithoutReactor). The async backends keep qd futures in flight
// from one goroutine (a sliding window: wait for the oldest, issue the next); the
// baseline runs qd goroutines each calling ReadAt in a loop.
//
// What bounds "cached" here: the offsets spread over 256 MiB, so each read copies a page
// from DRAM, and that copy is most of a read's cost on either path. Measured with
// fs/internal/uring's raw benchmarks (same file and offsets, no Go work at all): two
// threads each driving their own ring with 16-read batches and a registered file cost
// ~0.9 us of CPU per read and reach ~2.0 M reads/s, two threads calling pread ~1.05 us and
// ~1.8 M; the os.File contender here runs at 1.0-1.05 us and 1.8-2.0 M. An io_uring
// contender that issues from one goroutine also pays for futures and for handing reads to
// a second thread and back (0.3 us or more per read), so on this kind of machine it does
// not overtake the goroutines on page-cache reads; O_DIRECT reads are another matter.
func BenchmarkRandomRead4K(b *testing.B) {
	path := benchFile(b)
	offs := benchOffsets()
	mask := len(offs) - 1
	for _, mode := range []struct {
		name string
		flag int
	}{{"cached", 0}, {"direct", syscall.O_DIRECT}} {
		for _, qd := range []int{1, 16, 128} {
			for _, be := range []struct {
				name string
				opts []fs.Option
			}{
				{"uring", []fs.Option{fs.WithBackend(fs.URing)}},
				{"uring-reaper", []fs.Option{fs.WithBackend(fs.URing), fs.WithoutReactor()}},
				{"pool", []fs.Option{fs.WithBackend(fs.Pool)}},
			} {
				b.Run(fmt.Sprintf("%s/%s/qd=%d", mode.name, be.name, qd), func(b *testing.B) {
					rt := newRuntime(b)
					fsys := newFS(b, rt, be.opts)
					f, err := join(b, fsys.OpenFile(path, os.O_RDONLY|mode.flag, 0))
					if err != nil {
						b.Fatal(err)
					}
					defer func() { join(b, f.Close()) }()
					futs := make([]*task.Future[int], qd)
					bufs := make([][]byte, qd)
					for i := range bufs {
						bufs[i] = alignedBlock()
					}
					b.ReportAllocs()
					e0, k0, v0 := fsys.Counters()
					cpu0 := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						s := i % qd
						if futs[s] != nil {
							if n, err := futs[s].Join(); n != benchBlock || err != nil {
								b.Fatalf("%d %v", n, err)
							}
						}
						futs[s] = f.ReadAt(bufs[s], offs[i&mask])
					}
					for _, fu := range futs {
						if fu != nil {
							fu.Join()
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
					if e1, k1, v1 := fsys.Counters(); e1 > 0 {
						b.ReportMetric(float64(e1-e0)/float64(b.N), "enters/op")
						b.ReportMetric(float64(k1-k0)/float64(b.N), "kicks/op")
						b.ReportMetric(float64(v1-v0)/float64(b.N), "evfd/op")
					}
				})
			}
			b.Run(fmt.Sprintf("%s/osfile/qd=%d", mode.name, qd), func(b *testing.B) {
				f, err := os.OpenFile(path, os.O_RDONLY|mode.flag, 0)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				var wg sync.WaitGroup
				for g := range qd {
					n := b.N / qd
					if g < b.N%qd {
						n++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						buf := alignedBlock()
						for i := range n {
							if _, err := f.ReadAt(buf, offs[(g*7919+i)&mask]); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
