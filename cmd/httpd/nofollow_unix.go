//go:build unix

package main

import "syscall"

const oNoFollow = syscall.O_NOFOLLOW
