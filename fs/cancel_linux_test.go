package fs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftrt/weft/fs"
	"github.com/weftrt/weft/task"
)

// A read from an empty FIFO stays in the kernel until data or a cancel arrives, which
// makes io_uring cancellation observable: the op is really in flight when it is cancelled.
func fifo(t *testing.T, fsys *fs.FS) (*fs.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// O_RDWR: opening does not wait for a writer.
	f, err := join(t, fsys.OpenFile(path, os.O_RDWR, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { join(t, f.Close()) })
	return f, path
}

func waitInFlight(t *testing.T, fsys *fs.FS, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fsys.InFlight() != n {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d, want %d", fsys.InFlight(), n)
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
}

func TestURingCancelInFlightRead(t *testing.T) {
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			rt := newRuntime(t)
			fsys := newFS(t, rt, b.opts)
			f, path := fifo(t, fsys)

			const N = 50
			bufs := make([][]byte, N)
			futs := make([]*task.Future[int], N)
			ctx, cancel := context.WithCancel(context.Background())
			for i := range N {
				bufs[i] = make([]byte, 16)
				futs[i] = f.ReadAtContext(ctx, bufs[i], 0)
			}
			waitInFlight(t, fsys, N)
			cancel()
			for i, fu := range futs {
				if n, err := join(t, fu); n != 0 || !errors.Is(err, context.Canceled) {
					t.Fatalf("read %d: %d %v", i, n, err)
				}
			}
			if n := fsys.InFlight(); n != 0 {
				t.Fatalf("%d in flight after cancel", n)
			}
			// The cancelled reads consumed nothing and wrote nothing.
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if n, err := w.WriteString("hello"); n != 5 || err != nil {
				t.Fatalf("write: %d %v", n, err)
			}

			for i, b := range bufs {
				if !bytes.Equal(b, make([]byte, 16)) {
					t.Fatalf("cancelled read %d wrote %q", i, b)
				}
				clear(b) // ours again (the race detector watches this)
			}
			// ReadAt waits for all of len(p) (io.ReaderAt), so ask for exactly what is there.
			got := make([]byte, 5)
			if n, err := join(t, f.ReadAt(got, 0)); err != nil || string(got[:n]) != "hello" {
				t.Fatalf("read after cancel: %q %v", got[:n], err)
			}

			// A deadline works the same way.
			tctx, tcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer tcancel()
			if _, err := join(t, f.ReadAtContext(tctx, got, 0)); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("timeout: %v", err)
			}
			if n := fsys.InFlight(); n != 0 {
				t.Fatalf("%d in flight after timeout", n)
			}
		})
	}
}

// Closing the FS cancels reads that would otherwise never finish, and waits for them.
func TestURingCloseCancelsBlockedReads(t *testing.T) {
	rt := newRuntime(t)
	fsys, err := fs.New(rt, fs.WithBackend(fs.URing))
	if errors.Is(err, fs.ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := join(t, fsys.OpenFile(path, os.O_RDWR, 0))
	if err != nil {
		t.Fatal(err)
	}
	fu := f.ReadAt(make([]byte, 8), 0)
	waitInFlight(t, fsys, 1)
	if err := fsys.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := join(t, fu); !errors.Is(err, syscall.ECANCELED) && !errors.Is(err, syscall.EINTR) {
		t.Fatalf("blocked read after FS.Close: %v", err)
	}
	if n := fsys.InFlight(); n != 0 {
		t.Fatalf("%d in flight", n)
	}
	if _, err := join(t, f.ReadAt(make([]byte, 8), 0)); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("read after FS.Close: %v", err)
	}
}
