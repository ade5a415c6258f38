package main

import (
	"testing"

	"go.uber.org/goleak"
)

// IgnoreCurrent: ants starts its default pool's goroutines at package init.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }
