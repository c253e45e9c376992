package chaos

import (
	"errors"
	"fmt"

	"github.com/chatbench/chatbench/loadgen/results"
)

// NotMeasuredError is a fault whose swarm run ran but did not measure it
// (ended early or measured something else): its counts are no answer.
type NotMeasuredError struct{ Fault, Why string }

func (e *NotMeasuredError) Error() string {
	return fmt.Sprintf("%s: its swarm run was %s; its row is not a measurement of the fault (estimate skips it): fix that and run the fault again", e.Fault, e.Why)
}

// Unmeasured is nil when every fault run of r measured its fault, else a
// NotMeasuredError for each one that did not: the experiment failed.
func Unmeasured(r *results.Chaos) error {
	var errs []error
	for _, f := range r.Faults {
		if why := f.NotMeasured(); why != "" {
			errs = append(errs, &NotMeasuredError{Fault: f.Fault, Why: why})
		}
	}
	return errors.Join(errs...)
}
