package results_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
)

func write(path string) error {
	return results.WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err })
}

// --out through a symlink writes the file it points to and keeps the link.
func TestWriteFileFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.json"), filepath.Join(dir, "link.json")
	if err := os.WriteFile(real, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := write(link); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(real)
	if st, _ := os.Stat(real); string(b) != "new\n" || st.Mode().Perm() != 0o600 {
		t.Errorf("target holds %q, mode %v; want the new contents, mode kept", b, st.Mode().Perm())
	}
	assertNoTemp(t, dir, 2)
}

// A FIFO is written through, not replaced by a regular file.
func TestWriteFileThroughFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo) // blocks until the writer opens it
		got <- string(b)
	}()
	if err := results.CheckWritable(fifo); err != nil {
		t.Fatal(err)
	}
	if err := write(fifo); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "new\n" {
		t.Errorf("read %q from the FIFO", s)
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO became %v", fi.Mode())
	}
}

// A directory, a missing directory, a dangling link: refused up front, and
// nothing is left behind.
func TestCheckWritableRefuses(t *testing.T) {
	dir := t.TempDir()
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "no", "such"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{dir, "is a directory"},
		{filepath.Join(dir, "missing", "r.json"), "cannot write in"},
		{dangling, "symlink that cannot be followed"},
	} {
		err := results.CheckWritable(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckWritable(%s) = %v, want %q", tc.path, err, tc.want)
		}
		if err := write(tc.path); err == nil {
			t.Errorf("WriteFile(%s) succeeded", tc.path)
		}
	}
	assertNoTemp(t, dir, 1)
}

// A write that fails halfway leaves the old file whole and no temporary file.
func TestWriteFileFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := results.WriteFile(p, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return io.ErrShortWrite
	})
	if err == nil {
		t.Fatal("a failed write reported success")
	}
	if b, _ := os.ReadFile(p); string(b) != "old\n" {
		t.Errorf("old file now holds %q", b)
	}
	assertNoTemp(t, dir, 1)
}

// assertNoTemp checks dir holds n entries (no temporary file left).
func assertNoTemp(t *testing.T, dir string, n int) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	if len(es) != n {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want %d entries", names, n)
	}
}
