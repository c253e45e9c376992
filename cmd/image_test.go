package cmd

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerBuildCommand returns the shell command of the Dockerfile's RUN
// step that builds chatbench (continuation lines joined), without its
// BuildKit cache mounts.
func dockerBuildCommand(t *testing.T, dockerfile string) string {
	t.Helper()
	joined := strings.ReplaceAll(dockerfile, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			cmd := strings.TrimPrefix(line, "RUN ")
			return strings.TrimSpace(regexp.MustCompile(`--mount=\S+\s+`).ReplaceAllString(cmd, ""))
		}
	}
	t.Fatal("Dockerfile: no RUN step with go build")
	return ""
}

// The image's binary is static: the Dockerfile's own build command, run
// here (no Docker engine is needed), gives an ELF with no program
// interpreter and no shared library, built with CGO_ENABLED=0, which runs
// and reports the version the build was given. The image's last stage
// runs it as a non-root user on a base without a C library.
func TestImageBinaryIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chatbench")
	}
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	out := filepath.Join(t.TempDir(), "out")
	script := strings.ReplaceAll(dockerBuildCommand(t, df), "/out/", out+"/")
	if !strings.Contains(script, "CGO_ENABLED=0") {
		t.Fatalf("the Dockerfile's build does not set CGO_ENABLED=0: %s", script)
	}
	build := exec.Command("sh", "-c", "mkdir -p "+out+" && "+script)
	build.Dir = ".."
	build.Env = append(os.Environ(), "TARGETARCH=amd64", "VERSION=v0.0.0-imagetest")
	if o, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, o)
	}
	bin := filepath.Join(out, "chatbench")

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names a program interpreter (dynamic loader): not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("the binary needs shared libraries %v (%v): not static", libs, err)
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["GOOS"] != "linux" || settings["-trimpath"] != "true" {
		t.Errorf("build settings %v: want CGO_ENABLED=0, GOOS=linux, -trimpath", settings)
	}
	if v, err := exec.Command(bin, "--version").Output(); err != nil || !strings.Contains(string(v), "v0.0.0-imagetest") {
		t.Errorf("--version: %q (%v); want the VERSION build argument", v, err)
	}

	stages := regexp.MustCompile(`(?m)^FROM .*$`).FindAllString(df, -1)
	users := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(df)
	if len(stages) < 2 || !strings.Contains(stages[len(stages)-1], "distroless/static") ||
		users == nil || users[1] == "0" || users[2] == "0" || !strings.Contains(df, `ENTRYPOINT ["/usr/local/bin/chatbench"]`) {
		t.Errorf("last stage %q, user %v: want a distroless static base, a non-root numeric USER, chatbench as the entrypoint", stages, users)
	}
}
