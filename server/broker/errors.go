package broker

import "errors"

// The errors Publish returns; test with errors.Is.
var (
	// ErrClosed: the broker was closed.
	ErrClosed = errors.New("broker closed")
	// ErrQueueFull: the publish queue is full (the backend is slower than
	// the node's publishers).
	ErrQueueFull = errors.New("broker publish queue full")
	// ErrNotReady: the backend is not connected, or refuses messages for
	// now; the error that matches it says which and why.
	ErrNotReady = errors.New("broker backend not ready")
)
