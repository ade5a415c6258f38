package fs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/fs"
	"github.com/weftrt/weft/task"
)

// backends is the table every behavioural test runs over: io_uring reaped by a reactor
// loop, io_uring with its own reaper, and the blocking pool.
var backends = []struct {
	name string
	opts []fs.Option
}{
	{"uring-loop", []fs.Option{fs.WithBackend(fs.URing)}},
	{"uring-reaper", []fs.Option{fs.WithBackend(fs.URing), fs.WithoutReactor()}},
	{"pool", []fs.Option{fs.WithBackend(fs.Pool)}},
}

func newRuntime(t testing.TB) *weft.Runtime {
	t.Helper()
	rt, err := weft.New(weft.Workers(2), weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func newFS(t testing.TB, rt *weft.Runtime, opts []fs.Option) *fs.FS {
	t.Helper()
	fsys, err := fs.New(rt, opts...)
	if errors.Is(err, fs.ErrUnavailable) {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := fsys.InFlight(); n != 0 {
			t.Errorf("%d operations still in flight at the end", n)
		}
		if err := fsys.Close(); err != nil {
			t.Errorf("FS.Close: %v", err)
		}
	})
	return fsys
}

// join waits for a future with a bound, so a lost completion fails instead of hanging.
func join[T any](t testing.TB, f *task.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := f.Await(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		t.Fatal("future did not complete in 30s")
	}
	return v, err
}

func each(t *testing.T, fn func(t *testing.T, fsys *fs.FS)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rt := newRuntime(t)
			fsys := newFS(t, rt, b.opts)
			if b.name == "uring-loop" && !fsys.WatchedByLoop() {
				t.Fatal("ring not watched by a reactor loop")
			}
			fn(t, fsys)
		})
	}
}

// chunks splits [0,size) into random pieces of 1 byte to max bytes, in random order.
func chunks(rng *rand.Rand, size, max int) [][2]int {
	var out [][2]int
	for off := 0; off < size; {
		n := min(1+rng.IntN(max), size-off)
		out = append(out, [2]int{off, n})
		off += n
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestWriteReadBack64MiB(t *testing.T) {
	const size = 64 << 20
	want := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < size; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			want[i+j] = byte(v >> (8 * j))
		}
	}
	each(t, func(t *testing.T, fsys *fs.FS) {
		path := filepath.Join(t.TempDir(), "big")
		f, err := join(t, fsys.Create(path))
		if err != nil {
			t.Fatal(err)
		}
		// Every chunk in flight at once, in random order: the kernel (or pool) sees
		// overlapping-in-time writes at random offsets.
		wc := chunks(rng, size, 1<<20)
		futs := make([]*task.Future[int], len(wc))
		for i, c := range wc {
			futs[i] = f.WriteAt(want[c[0]:c[0]+c[1]], int64(c[0]))
		}
		for i, fu := range futs {
			if n, err := join(t, fu); err != nil || n != wc[i][1] {
				t.Fatalf("write %v: %d %v", wc[i], n, err)
			}
		}
		if _, err := join(t, f.Sync()); err != nil {
			t.Fatal(err)
		}
		fi, err := join(t, f.Stat())
		if err != nil || fi.Size() != size {
			t.Fatalf("stat: %v %v", fi, err)
		}
		got := make([]byte, size)
		rc := chunks(rng, size, 1<<20)
		futs = futs[:0]
		for _, c := range rc {
			futs = append(futs, f.ReadAt(got[c[0]:c[0]+c[1]], int64(c[0])))
		}
		for i, fu := range futs {
			if n, err := join(t, fu); err != nil || n != rc[i][1] {
				t.Fatalf("read %v: %d %v", rc[i], n, err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatal("read back differs from what was written")
		}
		if _, err := join(t, f.Close()); err != nil {
			t.Fatal(err)
		}
		all, err := join(t, fsys.ReadFile(path))
		if err != nil || !bytes.Equal(all, want) {
			t.Fatalf("ReadFile: %d bytes, %v", len(all), err)
		}
	})
}

func TestThousandConcurrentReadAt(t *testing.T) {
	const N, bs = 1000, 4096
	data := make([]byte, N*bs)
	for i := range data {
		data[i] = byte(i/bs) ^ byte(i)
	}
	each(t, func(t *testing.T, fsys *fs.FS) {
		path := filepath.Join(t.TempDir(), "f")
		if _, err := join(t, fsys.WriteFile(path, data, 0o600)); err != nil {
			t.Fatal(err)
		}
		f, err := join(t, fsys.Open(path))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { join(t, f.Close()) }()
		bufs := make([][]byte, N)
		futs := make([]*task.Future[int], N)
		perm := rand.Perm(N)
		for i := range N {
			bufs[i] = make([]byte, bs)
			futs[i] = f.ReadAt(bufs[i], int64(perm[i]*bs))
		}
		for i := range N {
			n, err := join(t, futs[i])
			if err != nil || n != bs {
				t.Fatalf("read %d: %d %v", i, n, err)
			}
			if !bytes.Equal(bufs[i], data[perm[i]*bs:(perm[i]+1)*bs]) {
				t.Fatalf("read %d: wrong bytes", i)
			}
		}
	})
}

func TestErrors(t *testing.T) {
	each(t, func(t *testing.T, fsys *fs.FS) {
		dir := t.TempDir()
		missing := filepath.Join(dir, "missing")

		_, err := join(t, fsys.Open(missing))
		if !errors.Is(err, fs.ErrNotExist) || !os.IsNotExist(err) {
			t.Errorf("open missing: %v", err)
		}
		var pe *os.PathError
		if !errors.As(err, &pe) || pe.Path != missing || pe.Op != "open" {
			t.Errorf("open missing: not a PathError naming the path: %#v", err)
		}
		if _, err := join(t, fsys.Stat(missing)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat missing: %v", err)
		}
		if _, err := join(t, fsys.ReadFile(missing)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile missing: %v", err)
		}
		if _, err := join(t, fsys.Create(filepath.Join(missing, "x"))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("create in missing dir: %v", err)
		}
		if _, err := join(t, fsys.Open("")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("open empty name: %v", err)
		}
		if _, err := join(t, fsys.Open("bad\x00name")); err == nil {
			t.Error("open with NUL in the name succeeded")
		}

		path := filepath.Join(dir, "f")
		if _, err := join(t, fsys.WriteFile(path, []byte("hello"), 0o600)); err != nil {
			t.Fatal(err)
		}
		f, err := join(t, fsys.Open(path))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if n, err := join(t, f.ReadAt(buf, 2)); n != 3 || err != io.EOF || string(buf[:3]) != "llo" {
			t.Errorf("short ReadAt: %d %v", n, err)
		}
		if n, err := join(t, f.ReadAt(buf, 100)); n != 0 || err != io.EOF {
			t.Errorf("ReadAt past EOF: %d %v", n, err)
		}
		if _, err := join(t, f.ReadAt(buf, -1)); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("negative offset: %v", err)
		}
		if n, err := join(t, f.ReadAt(nil, 0)); n != 0 || err != nil {
			t.Errorf("empty ReadAt: %d %v", n, err)
		}
		if _, err := join(t, f.WriteAt([]byte("x"), 0)); err == nil {
			t.Error("write to a read-only file succeeded")
		}
		if _, err := join(t, f.Close()); err != nil {
			t.Fatal(err)
		}
		if _, err := join(t, f.ReadAt(buf, 0)); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("ReadAt on closed file: %v", err)
		}
		if _, err := join(t, f.Read(buf)); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Read on closed file: %v", err)
		}
		if _, err := join(t, f.Stat()); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Stat on closed file: %v", err)
		}
		if _, err := join(t, f.Sync()); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Sync on closed file: %v", err)
		}
		if _, err := join(t, f.Close()); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("second Close: %v", err)
		}

		d, err := join(t, fsys.Open(dir))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := join(t, d.ReadAt(buf, 0)); err == nil || err == io.EOF {
			t.Errorf("ReadAt on a directory: %v", err)
		}
		if fi, err := join(t, d.Stat()); err != nil || !fi.IsDir() {
			t.Errorf("Stat dir: %v %v", fi, err)
		}
		join(t, d.Close())
	})
}

func TestReadWriteSequentialAndStat(t *testing.T) {
	each(t, func(t *testing.T, fsys *fs.FS) {
		path := filepath.Join(t.TempDir(), "seq")
		f, err := join(t, fsys.Create(path))
		if err != nil {
			t.Fatal(err)
		}
		// Issued back to back without waiting: they must land in call order.
		var futs []*task.Future[int]
		var want []byte
		for i := range 100 {
			p := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*37%300)
			want = append(want, p...)
			futs = append(futs, f.Write(p))
		}
		for _, fu := range futs {
			if _, err := join(t, fu); err != nil {
				t.Fatal(err)
			}
		}
		fi, err := join(t, f.Stat())
		if err != nil || fi.Size() != int64(len(want)) || fi.Name() != "seq" || !fi.Mode().IsRegular() {
			t.Fatalf("stat: %v %v", fi, err)
		}
		join(t, f.Close())

		f, err = join(t, fsys.Open(path))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { join(t, f.Close()) }()
		var got []byte
		buf := make([]byte, 333)
		for {
			n, err := join(t, f.Read(buf))
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("sequential read: %d bytes, want %d", len(got), len(want))
		}
	})
}

// Close while reads are in flight: they finish with their data, and the fd is closed
// only afterwards (the next read fails with ErrClosed, never reads another file).
func TestCloseWaitsForInFlight(t *testing.T) {
	each(t, func(t *testing.T, fsys *fs.FS) {
		path := filepath.Join(t.TempDir(), "f")
		data := bytes.Repeat([]byte("0123456789abcdef"), 1<<14)
		join(t, fsys.WriteFile(path, data, 0o600))
		f, err := join(t, fsys.Open(path))
		if err != nil {
			t.Fatal(err)
		}
		var futs []*task.Future[int]
		var bufs [][]byte
		for i := range 64 {
			b := make([]byte, 4096)
			bufs = append(bufs, b)
			futs = append(futs, f.ReadAt(b, int64(i*4096)))
		}
		cf := f.Close()
		for i, fu := range futs {
			if n, err := join(t, fu); n != 4096 || err != nil || !bytes.Equal(bufs[i], data[i*4096:(i+1)*4096]) {
				t.Fatalf("read %d: %d %v", i, n, err)
			}
		}
		if _, err := join(t, cf); err != nil {
			t.Fatal(err)
		}
	})
}

// Cancelling through the context: every future completes exactly once, with either its
// full result or the context's error, nothing stays in flight, and the buffer is ours
// again when the future completes (the race detector watches the writes below).
func TestCancelReadAt(t *testing.T) {
	each(t, func(t *testing.T, fsys *fs.FS) {
		path := filepath.Join(t.TempDir(), "f")
		data := make([]byte, 1<<20)
		for i := range data {
			data[i] = byte(i * 7)
		}
		join(t, fsys.WriteFile(path, data, 0o600))
		f, err := join(t, fsys.Open(path))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { join(t, f.Close()) }()
		const N = 400
		var wg sync.WaitGroup
		var cancelled, completed int
		var mu sync.Mutex
		for i := range N {
			ctx, cancel := context.WithCancel(context.Background())
			buf := make([]byte, 64<<10)
			off := int64(i%16) * int64(len(buf))
			fu := f.ReadAtContext(ctx, buf, off)
			wg.Add(1)
			go func() { defer wg.Done(); cancel() }()
			n, err := join(t, fu)
			mu.Lock()
			switch {
			case err == nil && n == len(buf):
				if !bytes.Equal(buf, data[off:off+int64(n)]) {
					t.Fatalf("op %d: wrong bytes", i)
				}
				completed++
			case errors.Is(err, context.Canceled):
				cancelled++
			default:
				t.Fatalf("op %d: %d %v", i, n, err)
			}
			mu.Unlock()
			clear(buf) // ours again
		}
		wg.Wait()
		t.Logf("%d completed, %d cancelled", completed, cancelled)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := join(t, f.ReadAtContext(ctx, make([]byte, 8), 0)); !errors.Is(err, context.Canceled) {
			t.Errorf("already-cancelled context: %v", err)
		}
		if n := fsys.InFlight(); n != 0 {
			t.Errorf("%d in flight", n)
		}
	})
}

func TestPackageLevelHelpers(t *testing.T) {
	rt := newRuntime(t)
	path := filepath.Join(t.TempDir(), "hello.txt")
	if _, err := join(t, fs.WriteFile(rt, path, []byte("hello, weft"), 0o644)); err != nil {
		t.Fatal(err)
	}
	b, err := join(t, fs.ReadFile(rt, path))
	if err != nil || string(b) != "hello, weft" {
		t.Fatalf("%q %v", b, err)
	}
	fi, err := join(t, fs.Stat(rt, path))
	if err != nil || fi.Size() != 11 || fi.Mode().Perm() != os.FileMode(0o644&^umask()) {
		t.Fatalf("stat %v %v", fi, err)
	}
	f, err := join(t, fs.Open(rt, path))
	if err != nil {
		t.Fatal(err)
	}
	join(t, f.Close())
	fsys, err := fs.Default(rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default backend on this machine: %v", fsys.Backend())
	// Closing the runtime closes its FS (goleak would catch a leftover reaper).
	rt.Close()
	if _, err := join(t, fsys.Open(path)); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("open after runtime close: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := fs.New(nil); err == nil {
		t.Error("nil executor accepted")
	}
	rt := newRuntime(t)
	if _, err := fs.New(rt, fs.WithBackend(fs.Backend(42))); err == nil {
		t.Error("unknown backend accepted")
	}
}

func TestAppend(t *testing.T) {
	each(t, func(t *testing.T, fsys *fs.FS) {
		path := filepath.Join(t.TempDir(), "log")
		if _, err := join(t, fsys.WriteFile(path, []byte("one\n"), 0o600)); err != nil {
			t.Fatal(err)
		}
		f, err := join(t, fsys.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0))
		if err != nil {
			t.Fatal(err)
		}
		a, b := f.Write([]byte("two\n")), f.Write([]byte("three\n"))
		if _, err := join(t, a); err != nil {
			t.Fatal(err)
		}
		if _, err := join(t, b); err != nil {
			t.Fatal(err)
		}
		join(t, f.Close())
		got, err := join(t, fsys.ReadFile(path))
		if err != nil || string(got) != "one\ntwo\nthree\n" {
			t.Fatalf("%q %v", got, err)
		}
	})
}

// FS.Close with reads running: when Close returns every future has completed, each
// with its full result or ErrClosed (an operation that had not started); none saw its
// file closed under it.
func TestCloseWaitsForRunningOperations(t *testing.T) {
	const N, bs = 64, 128 << 10
	data := make([]byte, 32<<20)
	for i := range data {
		data[i] = byte(i * 13)
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { closeWhileRunning(t, b.opts, data, N, bs) })
	}
}

func closeWhileRunning(t *testing.T, opts []fs.Option, data []byte, N, bs int) {
	{
		rt := newRuntime(t)
		fsys, err := fs.New(rt, opts...)
		if errors.Is(err, fs.ErrUnavailable) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "f")
		if _, err := join(t, fsys.WriteFile(path, data, 0o600)); err != nil {
			t.Fatal(err)
		}
		f, err := join(t, fsys.Open(path))
		if err != nil {
			t.Fatal(err)
		}
		// One read of the whole file, handed to the backend before a small read that
		// completes: it is under way (milliseconds of copying) when Close is called.
		whole := make([]byte, len(data))
		wf := f.ReadAt(whole, 0)
		if n, err := join(t, f.ReadAt(make([]byte, 16), 0)); n != 16 || err != nil {
			t.Fatal(n, err)
		}
		futs := make([]*task.Future[int], N)
		bufs := make([][]byte, N)
		for i := range N {
			bufs[i] = make([]byte, bs)
			futs[i] = f.ReadAt(bufs[i], int64(i*bs%(len(data)-bs)))
		}
		if err := fsys.Close(); err != nil {
			t.Fatal(err)
		}
		if !wf.IsDone() {
			t.Fatal("the whole-file read is still running after FS.Close")
		}
		if n, err := wf.Join(); err == nil && (n != len(data) || !bytes.Equal(whole, data)) {
			t.Fatalf("whole-file read: %d bytes, equal=%v", n, bytes.Equal(whole, data))
		} else if err != nil && !errors.Is(err, fs.ErrClosed) && !errors.Is(err, syscall.ECANCELED) {
			t.Fatalf("whole-file read: %v", err)
		}
		full := 0
		for i, fu := range futs {
			if !fu.IsDone() {
				t.Fatalf("read %d still running after FS.Close", i)
			}
			n, err := fu.Join()
			switch {
			case err == nil && n == bs:
				off := i * bs % (len(data) - bs)
				if !bytes.Equal(bufs[i], data[off:off+bs]) {
					t.Fatalf("read %d: wrong bytes", i)
				}
				full++
			case errors.Is(err, fs.ErrClosed) || errors.Is(err, syscall.ECANCELED):
			default:
				t.Fatalf("read %d: %d %v", i, n, err)
			}
		}
		t.Logf("%d of %d reads ran before Close", full, N)
	}
}
