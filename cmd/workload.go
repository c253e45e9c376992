package cmd

import (
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen/workload"
)

// applyWorkload sets the flags a workload file gives, except those given
// on the command line (they win): the file goes through the same flag
// parsing as the command line, and those in skip (a flag the command
// varies itself). An error names the file's field.
func applyWorkload(flags *pflag.FlagSet, path string, skip map[string]bool) error {
	if path == "" {
		return nil
	}
	f, err := workload.Read(path)
	if err != nil {
		return usageErr("--workload %s: %v", path, err)
	}
	onCommandLine := map[string]bool{}
	flags.Visit(func(fl *pflag.Flag) { onCommandLine[fl.Name] = true })
	for _, s := range f.Settings() {
		if onCommandLine[s.Flag] {
			continue
		}
		if skip[s.Flag] {
			continue
		}
		if err := flags.Set(s.Flag, s.Value); err != nil {
			var ue *units.UnitError
			if errors.As(err, &ue) { // a typed flag: the parser's line, as on the command line
				return usageErr("--workload %s: %s: --%s %v", path, s.Field, s.Flag, ue)
			}
			return usageErr("--workload %s: %s: %q: %v", path, s.Field, s.Value, err)
		}
	}
	return nil
}

// workloadErr names the workload file's field in an error about a flag
// the file set (the command line's own flags are named as they are).
func workloadErr(err error, path string) error {
	if path == "" {
		return err
	}
	f, ferr := workload.Read(path)
	if ferr != nil {
		return err
	}
	for _, s := range f.Settings() {
		if strings.Contains(err.Error(), "--"+s.Flag+" ") || strings.Contains(err.Error(), "--"+s.Flag+":") {
			return usageErr("--workload %s: %s: %v", path, s.Field, err)
		}
	}
	return err
}
