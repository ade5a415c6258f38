package fs_test

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/weftrt/weft/fs"
)

// With no file descriptor left, io_uring_setup really fails (EMFILE): Auto must fall back
// to the pool and still work, and a forced URing must report ErrUnavailable.
func TestAutoFallsBackWhenSetupFails(t *testing.T) {
	rt := newRuntime(t)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = 3 // stdin, stdout, stderr: every fd above is "used"
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	auto, autoErr := fs.New(rt)
	_, forcedErr := fs.New(rt, fs.WithBackend(fs.URing))
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(forcedErr, fs.ErrUnavailable) {
		t.Errorf("forced io_uring without fds: %v", forcedErr)
	}
	if autoErr != nil {
		t.Fatal(autoErr)
	}
	defer auto.Close()
	if auto.Backend() != fs.Pool {
		t.Fatalf("backend %v, want pool", auto.Backend())
	}
	path := filepath.Join(t.TempDir(), "f")
	if _, err := join(t, auto.WriteFile(path, []byte("fallback"), 0o600)); err != nil {
		t.Fatal(err)
	}
	if b, err := join(t, auto.ReadFile(path)); err != nil || string(b) != "fallback" {
		t.Fatalf("%q %v", b, err)
	}
}
