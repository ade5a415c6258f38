//go:build !unix

package main

// oNoFollow: without O_NOFOLLOW the resolved path is opened as is.
const oNoFollow = 0
