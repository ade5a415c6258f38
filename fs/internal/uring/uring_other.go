//go:build !linux

package uring

import "errors"

// ErrUnavailable: io_uring exists only on Linux.
var ErrUnavailable = errors.New("uring: io_uring unavailable")

// Engine is a placeholder so callers compile on other systems; New always fails.
type Engine struct{}

// Config mirrors the Linux type.
type Config struct {
	Entries   uint32
	OwnReaper bool
}

// New reports ErrUnavailable.
func New(Config) (*Engine, error) { return nil, ErrUnavailable }
