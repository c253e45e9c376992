package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Helpers of the Kubernetes tests: render a kustomization with the
// kustomize Go module (the engine of 'kubectl kustomize'), decode every
// object strictly into the Kubernetes API types, and run a container's
// args as Kubernetes would (env from ConfigMaps, $(VAR) expanded,
// ConfigMap volumes mounted).

const k8sBase = "../deploy/k8s"

// render runs kustomize on dir and returns the YAML stream.
func render(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	y, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// manifests are the objects of a rendered kustomization, by kind and name.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	jobs        map[string]*batchv1.Job
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
}

var strictCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
}()

// decodeStrict decodes a YAML stream into the API types; an unknown kind,
// an unknown or duplicated field is an error.
func decodeStrict(stream []byte) (*manifests, error) {
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	dec := strictCodecs.UniversalDeserializer()
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(stream), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj, _, err := dec.Decode([]byte(doc), nil, nil)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments[o.Name] = o
		case *batchv1.Job:
			m.jobs[o.Name] = o
		case *corev1.Service:
			m.services[o.Name] = o
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		default:
			return nil, fmt.Errorf("object %d: unexpected %T", i, obj)
		}
	}
	return m, nil
}

func renderStrict(t *testing.T, dir string) *manifests {
	t.Helper()
	m, err := decodeStrict(render(t, dir))
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return m
}

// containerEnv is the environment Kubernetes gives c: its env entries,
// values from the rendered ConfigMaps, plus extra (what the Job
// controller adds, such as JOB_COMPLETION_INDEX).
func (m *manifests) containerEnv(t *testing.T, c corev1.Container, extra map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := m.configMaps[ref.Name]
			if !ok {
				t.Fatalf("container %s: env %s from ConfigMap %q, which is not rendered", c.Name, e.Name, ref.Name)
			}
			v, ok := cm.Data[ref.Key]
			if !ok {
				t.Fatalf("container %s: env %s from key %q of ConfigMap %q, which has no such key", c.Name, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = v
		default:
			t.Fatalf("container %s: env %s from a source the tests do not know", c.Name, e.Name)
		}
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// expandK8s expands $(VAR) in s from env as Kubernetes does in a
// container's command and args: a defined variable is replaced, an
// undefined one is left as written, $$ is a literal $.
func expandK8s(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] != '$' || i+1 == len(s):
			b.WriteByte(s[i])
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case s[i+1] == '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// podSandbox stands in, on this machine, for what a pod's own sandbox
// gives it: its ConfigMap volumes (written to a directory of the test,
// their mount paths rewritten to it) and its own network namespace (a
// listen address ":PORT" becomes a free loopback port, as K pods cannot
// share one port here).
type podSandbox struct {
	mounts map[string]string // mount path -> local directory
}

func (m *manifests) sandbox(t *testing.T, spec corev1.PodSpec, c corev1.Container) *podSandbox {
	t.Helper()
	sb := &podSandbox{mounts: map[string]string{}}
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := m.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Fatalf("volume %s: ConfigMap %q is not rendered", v.Name, v.ConfigMap.Name)
			}
			dir := t.TempDir()
			for k, data := range cm.Data {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sb.mounts[vm.MountPath] = dir
		}
	}
	return sb
}

var listenAnyPort = regexp.MustCompile(`^(--[a-z-]+=):[0-9]+$`)

// args returns c's args as the container would get them (expanded from
// env), mapped into the sandbox.
func (sb *podSandbox) args(c corev1.Container, env map[string]string) []string {
	var out []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		a = expandK8s(a, env)
		for mount, dir := range sb.mounts {
			a = strings.ReplaceAll(a, mount+"/", dir+"/")
		}
		a = listenAnyPort.ReplaceAllString(a, "${1}127.0.0.1:0")
		out = append(out, a)
	}
	return out
}

// envList turns env into "K=V" entries for a process.
func envList(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// chatbenchContainers are the containers of every workload that run the
// chatbench image, with their pod specs.
func (m *manifests) chatbenchContainers() (out []struct {
	owner string
	spec  corev1.PodSpec
	c     corev1.Container
}) {
	add := func(owner string, spec corev1.PodSpec) {
		for _, c := range spec.Containers {
			if strings.HasPrefix(c.Image, "chatbench") {
				out = append(out, struct {
					owner string
					spec  corev1.PodSpec
					c     corev1.Container
				}{owner, spec, c})
			}
		}
	}
	for name, d := range m.deployments {
		add("deployment/"+name, d.Spec.Template.Spec)
	}
	for name, j := range m.jobs {
		add("job/"+name, j.Spec.Template.Spec)
	}
	return out
}

// writeOverlay writes a kustomization in a new directory that builds on
// base with these extra lines, and returns the directory.
func writeOverlay(t *testing.T, base string, body string, files map[string]string) string {
	t.Helper()
	abs, err := filepath.Abs(base)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, abs) // kustomize takes no absolute base
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\n%s", rel, body)
	files["kustomization.yaml"] = b.String()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
