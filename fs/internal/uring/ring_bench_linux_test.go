package uring

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// These benchmarks measure the kernel's share alone (no engine, no futures): what one
// 4 KiB page-cache read costs through pread and through io_uring at several batch sizes,
// with and without a registered file, on one thread and on two threads reading one file.

// The same file size and spread of offsets as fs's BenchmarkRandomRead4K: a smaller
// working set lets the page-cache pages sit in the CPU cache and makes every read cheaper
// than the file benchmark can ever see.
const (
	rbFile = 256 << 20
	rbOffs = 1 << 16
)

func rbSetup(b *testing.B) (*os.File, []int64) {
	path := filepath.Join(b.TempDir(), "f")
	data := make([]byte, rbFile)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	offs := make([]int64, rbOffs)
	x := uint64(1)
	for i := range offs {
		x = x*6364136223846793005 + 1442695040888963407
		offs[i] = int64(x>>33) % (rbFile / 4096) * 4096
	}
	return f, offs
}

func threadCPU() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func startCPU(b *testing.B) func() {
	b.ReportAllocs()
	runtime.LockOSThread()
	c0 := threadCPU()
	b.ResetTimer()
	return func() {
		b.ReportMetric(float64(threadCPU()-c0)/float64(b.N), "cpu-ns/op")
		runtime.UnlockOSThread()
	}
}

func BenchmarkRawPread(b *testing.B) {
	f, offs := rbSetup(b)
	buf := make([]byte, 4096)
	fd := int(f.Fd())
	defer startCPU(b)()
	for i := 0; i < b.N; i++ {
		if n, err := unix.Pread(fd, buf, offs[i&(rbOffs-1)]); n != 4096 || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkRawRing(b *testing.B) {
	for _, c := range []struct {
		name  string
		flags uint32
		batch int
	}{
		{"plain/1", 0, 1}, {"plain/16", 0, 16},
		{"coop/16", 1 << 8, 16},
		{"single/16", 1<<12 | 1<<8, 16},
		{"defer/16", 1<<12 | 1<<13, 16},
		{"plain/64", 0, 64},
		{"fixed/16", 0, 16},
		{"fixed/64", 0, 64},
	} {
		b.Run(c.name, func(b *testing.B) {
			f, offs := rbSetup(b)
			r, err := newRing(256, c.flags)
			if err != nil {
				b.Skip(err)
			}
			defer r.Close()
			buf := make([]byte, 4096*64)
			fixed := c.name[:5] == "fixed"
			sqeFlags := uint8(0)
			cqes := make([]CQE, 64)
			fd := int32(f.Fd())
			if fixed {
				fds := []int32{fd}
				if err := ioUringRegister(r.fd, 2, unsafe.Pointer(&fds[0]), 1); err != nil {
					b.Fatal(err)
				}
				fd, sqeFlags = 0, 1
			}
			defer startCPU(b)()
			for i := 0; i < b.N; i += c.batch {
				for j := 0; j < c.batch; j++ {
					r.Queue(&SQE{Opcode: OpRead, Flags: sqeFlags, Fd: fd, Off: uint64(offs[(i+j)&(rbOffs-1)]), Addr: bufAddr(buf[j*4096:]), Len: 4096, UserData: uint64(j)})
				}
				n := r.Publish()
				flags := uint32(0)
				if c.flags&(1<<13) != 0 {
					flags = enterGetEvents
				}
				r.Enter(n, 0, flags)
				got := 0
				for got < c.batch {
					k := r.Reap(cqes)
					for _, q := range cqes[:k] {
						if q.Res != 4096 {
							b.Fatal(q.Res)
						}
					}
					got += k
					if k == 0 {
						r.Enter(0, 1, enterGetEvents)
					}
				}
			}
		})
	}
}

// BenchmarkRawPread2: two threads calling pread on one file, the kernel's share of the
// os.File baseline when both cores read.
func BenchmarkRawPread2(b *testing.B) {
	f, offs := rbSetup(b)
	fd := int(f.Fd())
	onTwoThreads(b, func(t int) {
		buf := make([]byte, 4096)
		for i := t; i < b.N; i += 2 {
			if n, err := unix.Pread(fd, buf, offs[i&(rbOffs-1)]); n != 4096 || err != nil {
				b.Error(n, err)
				return
			}
		}
	})
}

// onTwoThreads runs body(0) and body(1) at once, each on a locked OS thread,
// times them, and reports the process CPU per op beside the wall time.
func onTwoThreads(b *testing.B, body func(t int)) {
	var wg sync.WaitGroup
	b.ReportAllocs()
	c0 := procCPU()
	b.ResetTimer()
	for t := 0; t < 2; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			body(t)
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(procCPU()-c0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRawRing2: two threads, each with its own ring, reading one file at once.
func BenchmarkRawRing2(b *testing.B) {
	for _, fixed := range []bool{false, true} {
		name := "plain"
		if fixed {
			name = "fixed"
		}
		b.Run(name, func(b *testing.B) {
			f, offs := rbSetup(b)
			onTwoThreads(b, func(t int) {
				r, _ := newRing(256, 0)
				defer r.Close()
				fd := int32(f.Fd())
				var sf uint8
				if fixed {
					fds := []int32{fd}
					ioUringRegister(r.fd, 2, unsafe.Pointer(&fds[0]), 1)
					fd, sf = 0, 1
				}
				buf := make([]byte, 4096*16)
				cqes := make([]CQE, 64)
				for i := t * 16; i < b.N; i += 32 {
					for j := 0; j < 16; j++ {
						r.Queue(&SQE{Opcode: OpRead, Flags: sf, Fd: fd, Off: uint64(offs[(i+j)&(rbOffs-1)]), Addr: bufAddr(buf[j*4096:]), Len: 4096})
					}
					r.Enter(r.Publish(), 0, 0)
					for got := 0; got < 16; {
						k := r.Reap(cqes)
						got += k
						if k == 0 {
							r.Enter(0, 1, enterGetEvents)
						}
					}
				}
			})
		})
	}
}

func procCPU() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
