//go:build !linux

package reactor

import "testing"

func runChild() bool { return false }

func TestUnsupported(t *testing.T) {
	if _, err := NewGroup(); err != ErrUnsupported {
		t.Fatalf("NewGroup: %v, want ErrUnsupported", err)
	}
}
