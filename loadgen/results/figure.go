package results

import (
	"encoding/json"
	"errors"
)

// Figure is a derived number that may not have been measurable. In JSON
// it is {"value": v} when measured and {"not_measured": "why"} when not,
// so no reader can mistake a missing figure for a zero.
type Figure struct {
	Value float64
	// Why says why the figure could not be measured; empty when it was.
	Why string
}

// Measured returns a measured figure.
func Measured(v float64) Figure { return Figure{Value: v} }

// NotMeasured returns a figure that could not be measured, and why.
func NotMeasured(why string) Figure { return Figure{Why: why} }

// OK reports whether the figure was measured.
func (f Figure) OK() bool { return f.Why == "" }

type figureJSON struct {
	Value       *float64 `json:"value,omitempty"`
	NotMeasured string   `json:"not_measured,omitempty"`
}

// MarshalJSON writes {"value": v} or {"not_measured": why}.
func (f Figure) MarshalJSON() ([]byte, error) {
	if !f.OK() {
		return json.Marshal(figureJSON{NotMeasured: f.Why})
	}
	v := f.Value
	return json.Marshal(figureJSON{Value: &v})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Figure) UnmarshalJSON(b []byte) error {
	var j figureJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch {
	case j.NotMeasured != "":
		*f = NotMeasured(j.NotMeasured)
	case j.Value != nil:
		*f = Measured(*j.Value)
	default:
		return errors.New("figure: want {\"value\": v} or {\"not_measured\": why}")
	}
	return nil
}
