package brokerkit

import (
	"errors"
	"fmt"

	"github.com/chatbench/chatbench/server/broker"
)

// NotReadyError is what Ready and Publish return while the backend cannot
// be used; it matches broker.ErrNotReady (and its Cause) with errors.Is.
type NotReadyError struct {
	Backend string // "redis", "rabbitmq"
	State   string // what is wrong: "not started", "cannot reach redis://...", ...
	Cause   error  // why, when known
	Hint    string // what to do, when known: how to start the backend
}

func (e *NotReadyError) Error() string {
	msg := e.Backend + ": " + e.State
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap returns broker.ErrNotReady and the cause.
func (e *NotReadyError) Unwrap() []error { return []error{broker.ErrNotReady, e.Cause} }

// OpError is an error of one backend operation; the supervisor counts it in
// chatbench_backend_errors_total under Op.
type OpError struct {
	Op  string // one of the Op constants
	Err error
}

func (e *OpError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *OpError) Unwrap() error { return e.Err }

// opOf returns the operation err is an OpError of, or fallback.
func opOf(err error, fallback string) string {
	if oe, ok := errors.AsType[*OpError](err); ok {
		return oe.Op
	}
	return fallback
}
