package fs_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// ants starts its default pool's goroutines at package init.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
