package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chatbench/chatbench/loadgen/errkind"
	"golang.org/x/sys/unix"
)

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteFile writes r to path (see WriteFile).
func (r *Result) WriteFile(path string) error { return WriteFile(path, r.WriteJSON) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeMode says how a path is written.
type writeMode int

const (
	replace writeMode = iota // a regular file or a new one: a temporary file renamed over it
	through                  // a FIFO or a character device: written in place
)

// resolve follows symlinks to the file a path names and says how it can be
// written: a regular file (or none yet) is replaced, a FIFO or character
// device is written through; anything else is refused, so a directory, a
// socket or a block device is never damaged.
func resolve(path string) (string, writeMode, error) {
	real := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if real, err = filepath.EvalSymlinks(path); err != nil {
			return "", 0, fmt.Errorf("%s is a symlink that cannot be followed (%w); not replacing it", path, err)
		}
	}
	fi, err := os.Stat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return real, replace, nil
	case err != nil:
		return "", 0, err
	case fi.Mode().IsRegular():
		return real, replace, nil
	case fi.Mode()&(fs.ModeNamedPipe|fs.ModeCharDevice) != 0:
		return real, through, nil
	}
	return "", 0, fmt.Errorf("%s is a %s, not a file: not writing to it", path, kindOf(fi.Mode()))
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// CheckWritable reports, before a run, whether WriteFile will be able to
// write path: the file it names is regular (or absent, in a directory that
// exists and is writable), a FIFO or a character device we may write.
func CheckWritable(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	real, mode, err := resolve(path)
	if err != nil {
		return err
	}
	if mode == through {
		if err := unix.Access(real, unix.W_OK); err != nil {
			return fmt.Errorf("%s: not writable: %w", path, err)
		}
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".check-*")
	if err != nil {
		return fmt.Errorf("%s: cannot write in %s: %w", path, filepath.Dir(real), errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// WriteFile writes what write produces to path. A regular file (or a new
// one) is written to a temporary file with a unique name beside it, then
// renamed over it, so a failed write never leaves it half-written; the
// temporary file is removed on every failure. A symlink is followed (the
// file it points to is replaced, the link stays); a FIFO or character
// device is written through; anything else is refused.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	real, mode, err := resolve(path)
	if err != nil {
		return err
	}
	if mode == through {
		f, err := os.OpenFile(real, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return errors.Join(write(f), f.Close())
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(real); err == nil {
		perm = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), real)
}

// File is a results file of either kind.
type File struct {
	Kind  string  // KindSwarm, KindSweep or KindChaos
	Run   *Result // when Kind is KindSwarm
	Sweep *Sweep  // when Kind is KindSweep
	Chaos *Chaos  // when Kind is KindChaos
}

// ReadFile reads a results file (swarm or sweep).
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// ReadRun reads a swarm results file.
func ReadRun(path string) (*Result, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	if f.Run == nil {
		return nil, fmt.Errorf("%s: a %s result, not a swarm run", path, f.Kind)
	}
	return f.Run, nil
}

// Decode decodes the bytes of a results file; name (its path) prefixes
// errors.
func Decode(name string, b []byte) (*File, error) {
	var head struct {
		Schema string `json:"schema"`
		Kind   string `json:"kind"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: not a results file: %w", name, err)
	}
	if head.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q (written by another chatbench version: run it again)", name, head.Schema, Schema)
	}
	f := &File{Kind: head.Kind}
	var err error
	switch head.Kind {
	case KindSwarm:
		f.Run = &Result{}
		err = json.Unmarshal(b, f.Run)
	case KindSweep:
		f.Sweep = &Sweep{}
		err = json.Unmarshal(b, f.Sweep)
	case KindChaos:
		f.Chaos = &Chaos{}
		err = json.Unmarshal(b, f.Chaos)
	default:
		return nil, fmt.Errorf("%s: kind %q, want %q, %q or %q", name, head.Kind, KindSwarm, KindSweep, KindChaos)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if f.Run != nil {
		f.Run.fill()
	}
	if f.Sweep != nil {
		for _, st := range f.Sweep.Steps {
			if st.Result != nil {
				st.Result.fill()
			}
		}
	}
	if f.Chaos != nil {
		for _, fr := range f.Chaos.Faults {
			if fr.Run != nil {
				fr.Run.fill()
			}
		}
	}
	return f, nil
}

// fill gives a decoded result the empty histograms and maps its fields
// may lack.
func (r *Result) fill() {
	for _, p := range r.Histograms.all() {
		if *p == nil {
			*p = NewHist()
		}
	}
	if r.Errors.Connect == nil {
		r.Errors.Connect = map[errkind.Kind]int64{}
	}
}
