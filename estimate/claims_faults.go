package estimate

import (
	"fmt"
	"strings"

	"github.com/chatbench/chatbench/internal/units"
)

// brokerFaults are the faults the reliability claims are about: what the
// broker does with messages while it is away. A killed serve node loses
// its own clients' deliveries whatever the broker does.
var brokerFaults = map[string]bool{"broker-restart": true, "broker-pause": true, "conn-drop": true}

// checkFaults judges claims 9 and 10 from a server's chaos results: the
// deliveries lost and duplicated across each broker fault.
func checkFaults(cc *ClaimCheck, sv *Evidence) {
	var expected, lost, dup int64
	var per []string
	mode, backend := "", ""
	for _, f := range sv.Faults {
		if !brokerFaults[f.Fault] {
			continue
		}
		backend = serverBackend(f.Backend, f.Server)
		expected, lost, dup = expected+f.Expected, lost+f.Lost, dup+f.Duplicated
		mode = f.Mode
		txt := fmt.Sprintf("%s: lost %s, duplicated %s of %s expected", f.Fault, units.FormatCount(float64(f.Lost)),
			units.FormatCount(float64(f.Duplicated)), units.FormatCount(float64(f.Expected)))
		cc.figure(f.Fault+" ("+f.Mode+")", txt, float64(f.Lost), FigureMeasured)
		per = append(per, f.Source+" "+txt)
	}
	if len(per) == 0 {
		return
	}
	cc.Basis = fmt.Sprintf("%s backend, %s: %s", backend, mode, strings.Join(per, "; "))
	if expected < MinDeliveries {
		cc.tooLittle(float64(expected), MinDeliveries, "expected deliveries across broker faults")
		return
	}
	cc.Value, cc.ValueSource, cc.RatioText = f64(float64(lost)), FigureMeasured, "-"
	sum := fmt.Sprintf("lost %s of %s, %s duplicated; %s", units.FormatCount(float64(lost)), units.FormatCount(float64(expected)),
		units.FormatCount(float64(dup)), mode)
	switch {
	case cc.Rule == RuleNoLoss && lost == 0:
		cc.VerdictKind, cc.Verdict = VerdictHolds, "holds ("+sum+")"
	case cc.Rule == RuleNoLoss:
		cc.VerdictKind, cc.Verdict = VerdictRefuted, "refuted ("+sum+")"
	case lost > 0:
		cc.VerdictKind, cc.Verdict = VerdictHolds, "holds ("+sum+")"
	default:
		cc.VerdictKind, cc.Verdict = VerdictRefuted, "refuted (nothing lost: "+sum+")"
	}
}
