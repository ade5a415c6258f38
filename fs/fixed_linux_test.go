package fs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/weftrt/weft/fs"
)

// A file is registered with the rings once it has seen a few operations; reads through
// the registered slot return the same bytes, and Close empties the slots (so the kernel
// lets go of the file) before the fd is closed.
func TestRegisteredFileAfterUse(t *testing.T) {
	rt := newRuntime(t)
	fsys := newFS(t, rt, []fs.Option{fs.WithBackend(fs.URing)})
	path := filepath.Join(t.TempDir(), "f")
	data := make([]byte, 64*512)
	for i := range data {
		data[i] = byte(i*31 + i>>9)
	}
	if _, err := join(t, fsys.WriteFile(path, data, 0o600)); err != nil {
		t.Fatal(err)
	}
	f, err := join(t, fsys.Open(path))
	if err != nil {
		t.Fatal(err)
	}
	if f.Registered() {
		t.Fatal("registered before any operation")
	}
	buf := make([]byte, 512)
	for i := range 64 {
		if n, err := join(t, f.ReadAt(buf, int64(i*512))); n != 512 || err != nil {
			t.Fatalf("read %d: %d %v", i, n, err)
		}
		if !bytes.Equal(buf, data[i*512:(i+1)*512]) {
			t.Fatalf("read %d: wrong bytes (registered=%v)", i, f.Registered())
		}
	}
	if !f.Registered() {
		t.Fatal("not registered after 64 reads")
	}
	if _, err := join(t, f.Close()); err != nil {
		t.Fatal(err)
	}
	if f.Registered() {
		t.Error("still registered after Close")
	}
	if _, err := join(t, f.ReadAt(buf, 0)); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	// The path is free to be removed and the FS to close with nothing in flight.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
