// Package cmd holds chatbench's cobra commands. Commands only turn flags into
// the config structs of server/, loadgen/ and estimate/ and call them; any
// logic a test of those packages could not reach belongs there, not here.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/internal/units"
)

// Version is set at build time with -ldflags "-X github.com/chatbench/chatbench/cmd.Version=v1.2.3";
// without it the module version from the build info is used.
var Version = ""

// Exit codes shared by every command.
const (
	ExitOK     = 0
	ExitFailed = 1 // the run happened and failed (an SLO broken, a server lost)
	ExitUsage  = 2 // bad flags, bad input, a backend or port that cannot be used
)

// ExitError carries an exit code with the one-line message printed for it.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// usageErr marks err as a usage problem (exit 2).
func usageErr(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// unitErr is the usage error for a flag whose value does not parse: the
// parsers' errors already say what was expected (`"8XB": want a size like
// 8GB…`).
func unitErr(flag string, err error) error { return usageErr("--%s %v", flag, err) }

// failErr marks err as a failed run (exit 1).
func failErr(err error) error { return &ExitError{Code: ExitFailed, Err: err} }

// subcommands is filled by each command file's init so that files can be
// added without touching this one.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// version is the -ldflags Version, else the module version from the build
// info, with the VCS revision it was built from (and "+dirty" when the
// tree had changes): v1.2.0, or devel+3f9c1a2d0b4e (2026-12-01T10:00:00Z),
// or dev when built without either.
func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	switch {
	case rev != "" && v == "devel":
		return fmt.Sprintf("devel+%.12s%s (%s)", rev, dirty, at)
	case v == "devel":
		return "dev"
	}
	return v
}

// NewRoot builds the root command. stdout and stderr are where commands write.
func NewRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "chatbench",
		Short: "How many users can a WebSocket broadcast setup hold, at what latency and cost",
		Long: `chatbench measures WebSocket broadcast (chat-style fan-out) capacity.

  chatbench serve     a reference chat server (memory, redis or rabbitmq backend)
  chatbench swarm     a load generator that measures fan-out latency and loss
  chatbench sweep     swarm at rising N: the knee where the SLO stops holding
  chatbench estimate  the blog's capacity maths, the corrected maths, and measured numbers
  chatbench report    merge results files, plot them as one HTML file`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		var iv *pflag.InvalidValueError
		var ue *units.UnitError
		if errors.As(err, &iv) && errors.As(err, &ue) { // a typed flag (units): the parser's one line
			return unitErr(iv.GetFlag().Name, ue)
		}
		return usageErr("%v (see '%s --help')", err, c.CommandPath())
	})
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// Execute runs chatbench with args and returns the process exit code. Errors
// are printed as one line on stderr.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "chatbench: %v\n", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	// cobra's own errors (unknown command, bad args) are usage errors.
	return ExitUsage
}
