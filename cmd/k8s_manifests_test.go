package cmd

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Every object of the kustomization (and of its example overlay) decodes
// strictly into the Kubernetes API types; an unknown or duplicated field
// would fail, as the mutated copies show.
func TestK8sManifestsDecodeStrictly(t *testing.T) {
	stream := render(t, k8sBase)
	m, err := decodeStrict(stream)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range m.deployments {
		names = append(names, "deployment/"+n)
	}
	for n := range m.jobs {
		names = append(names, "job/"+n)
	}
	for n := range m.services {
		names = append(names, "service/"+n)
	}
	slices.Sort(names)
	if want := []string{"deployment/chatbench-serve", "deployment/redis", "job/chatbench-swarm", "service/chatbench-serve", "service/redis"}; !slices.Equal(names, want) || len(m.configMaps) != 3 {
		t.Errorf("objects %v and %d ConfigMaps; want %v and 3", names, len(m.configMaps), want)
	}
	for _, bad := range []struct{ from, to, want string }{
		{"completionMode: Indexed", "completionMod: Indexed", `unknown field "spec.completionMod"`},
		{"  replicas: 2\n", "  replicas: 2\n  replicas: 3\n", `key "replicas" already set in map`},
		{"readinessProbe:", "readynessProbe:", `unknown field "spec.template.spec.containers[0].readynessProbe"`},
	} {
		if !bytes.Contains(stream, []byte(bad.from)) {
			t.Fatalf("the rendered manifests no longer hold %q", bad.from)
		}
		_, err := decodeStrict(bytes.Replace(stream, []byte(bad.from), []byte(bad.to), 1))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q -> %q: %v, want an error with %s", bad.from, bad.to, err, bad.want)
		}
	}

	// The dashboard's ConfigMap for Grafana's sidecar holds the dashboard as it is.
	g := renderStrict(t, "../deploy/grafana")
	dash, err := os.ReadFile("../deploy/grafana/chatbench.json")
	if cm := g.configMaps["chatbench-dashboard"]; err != nil || cm == nil || cm.Labels["grafana_dashboard"] != "1" || cm.Data["chatbench.json"] != string(dash) {
		t.Errorf("deploy/grafana: the dashboard ConfigMap (label grafana_dashboard=1) does not hold chatbench.json (%v)", err)
	}

	// The overlay for an existing Redis drops the Redis objects and points serve at it.
	ext := renderStrict(t, "../deploy/overlays/external-redis")
	if _, ok := ext.deployments["redis"]; ok || ext.services["redis"] != nil {
		t.Error("external-redis overlay still deploys Redis")
	}
	serve := ext.deployments["chatbench-serve"].Spec.Template.Spec.Containers[0]
	if env := ext.containerEnv(t, serve, nil); env["CHATBENCH_REDIS_URL"] != "redis://redis.example.internal:6379/0" {
		t.Errorf("external-redis overlay: serve's CHATBENCH_REDIS_URL %q", env["CHATBENCH_REDIS_URL"])
	}
}

// The pieces refer to each other correctly: the Job is Indexed with as
// many completions as --shard's K; Services select the pods and ports that
// exist; probes and scrape annotations name the ports the processes
// listen on; every pod runs as non-root.
func TestK8sManifestsAgree(t *testing.T) {
	m := renderStrict(t, k8sBase)
	job := m.jobs["chatbench-swarm"]
	swarm := job.Spec.Template.Spec.Containers[0]
	k := shardCount(t, swarm.Args)
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || int(*s.Completions) != k ||
		s.Parallelism == nil || int(*s.Parallelism) != k || s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job: mode %v completions %v parallelism %v restart %v; want Indexed, %d, %d, Never",
			ptrText(s.CompletionMode), ptrText(s.Completions), ptrText(s.Parallelism), s.Template.Spec.RestartPolicy, k, k)
	}
	if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 || s.PodFailurePolicy == nil ||
		s.PodFailurePolicy.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
		!slices.Equal(s.PodFailurePolicy.Rules[0].OnExitCodes.Values, []int32{ExitUsage}) {
		t.Errorf("job: a failed shard must not run again (backoffLimitPerIndex 0) and exit %d (bad input) must fail the Job: %+v", ExitUsage, s.PodFailurePolicy)
	}
	checkScrape(t, "job/chatbench-swarm", job.Spec.Template.Annotations, swarm, "--metrics-addr=")

	serveDep := m.deployments["chatbench-serve"]
	serve := serveDep.Spec.Template.Spec.Containers[0]
	checkScrape(t, "deployment/chatbench-serve", serveDep.Spec.Template.Annotations, serve, "--addr=")
	for probe, path := range map[*corev1.Probe]string{serve.ReadinessProbe: "/readyz", serve.LivenessProbe: "/healthz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || portNumber(serve, probe.HTTPGet.Port.String()) != listenPort(t, serve.Args, "--addr=") {
			t.Errorf("serve: probe %+v, want GET %s on the port of --addr", probe, path)
		}
	}
	for name, svc := range m.services {
		found := false
		for _, d := range m.deployments {
			tpl := d.Spec.Template
			if !selects(svc.Spec.Selector, tpl.Labels) {
				continue
			}
			found = true
			for _, p := range svc.Spec.Ports {
				if portNumber(tpl.Spec.Containers[0], p.TargetPort.String()) == 0 {
					t.Errorf("service %s: target port %s is not a port of %s", name, p.TargetPort.String(), d.Name)
				}
			}
		}
		if !found {
			t.Errorf("service %s selects no deployment's pods (selector %v)", name, svc.Spec.Selector)
		}
	}
	if !strings.Contains(m.containerEnv(t, swarm, nil)["CHATBENCH_URL"], "ws://chatbench-serve:8080/") {
		t.Error("swarm's CHATBENCH_URL does not name the serve Service and port")
	}
	specs := map[string]corev1.PodSpec{"job/chatbench-swarm": job.Spec.Template.Spec}
	for n, d := range m.deployments {
		specs["deployment/"+n] = d.Spec.Template.Spec
	}
	for owner, spec := range specs {
		sc := spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			t.Errorf("%s: pods must run as a non-root user: %+v", owner, sc)
		}
	}
}

func shardCount(t *testing.T, args []string) int {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--shard=$(JOB_COMPLETION_INDEX)/"); ok {
			k, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: K is not a number", a)
			}
			return k
		}
	}
	t.Fatalf("swarm args %v: no --shard=$(JOB_COMPLETION_INDEX)/K", args)
	return 0
}

// listenPort is the port of a listen-address flag ("--addr=:8080").
func listenPort(t *testing.T, args []string, prefix string) int {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, prefix); ok {
			_, p, err := net.SplitHostPort(v)
			n, err2 := strconv.Atoi(p)
			if err != nil || err2 != nil {
				t.Fatalf("%s: not host:port", a)
			}
			return n
		}
	}
	t.Fatalf("args %v: no %s", args, prefix)
	return 0
}

// portNumber is the container port named (or numbered) p; 0 if none.
func portNumber(c corev1.Container, p string) int {
	for _, cp := range c.Ports {
		if cp.Name == p || strconv.Itoa(int(cp.ContainerPort)) == p {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// checkScrape checks the prometheus.io annotations against the port the
// container's metrics listen on.
func checkScrape(t *testing.T, owner string, ann map[string]string, c corev1.Container, flag string) {
	t.Helper()
	port := listenPort(t, c.Args, flag)
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(port) || ann["prometheus.io/path"] != "/metrics" || portNumber(c, strconv.Itoa(port)) == 0 {
		t.Errorf("%s: scrape annotations %v; want /metrics on port %d (%s), a container port", owner, ann, port, flag)
	}
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Every chatbench container's args, as Kubernetes gives them, go through
// chatbench's own command parser: swarm's through all its checks
// (--dry-run), serve's flags through cobra. The placeholder START_AT,
// in the past, is refused with exit 2, as the kustomization says.
func TestK8sArgsParse(t *testing.T) {
	m := renderStrict(t, k8sBase)
	cs := m.chatbenchContainers()
	if len(cs) != 2 {
		t.Fatalf("%d chatbench containers, want serve and swarm", len(cs))
	}
	future := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	for _, x := range cs {
		sb := m.sandbox(t, x.spec, x.c)
		switch x.owner {
		case "job/chatbench-swarm":
			for i := 0; i < shardCount(t, x.c.Args); i++ {
				env := m.containerEnv(t, x.c, map[string]string{jobIndexVar: strconv.Itoa(i)})
				args := sb.args(x.c, env)
				code, _, stderr := runCLI(append(args, "--dry-run")...)
				if code != ExitUsage || !strings.Contains(stderr, "--start-at 2000-01-01T00:00:00Z is ") {
					t.Errorf("shard %d with the placeholder START_AT: exit %d %q; want exit 2, in the past", i, code, stderr)
				}
				env["START_AT"] = future
				args = sb.args(x.c, env)
				code, stdout, stderr := runCLI(append(args, "--dry-run")...)
				if code != 0 || !strings.Contains(stdout, "20000 clients in 200 room(s) of 100, 2000 talking at 1/s") {
					t.Errorf("shard %d: %v: exit %d\n%s%s", i, args, code, stdout, stderr)
				}
			}
		case "deployment/chatbench-serve":
			args := sb.args(x.c, m.containerEnv(t, x.c, nil))
			root := NewRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
			c, rest, err := root.Find(args)
			if err == nil {
				err = c.ParseFlags(rest)
			}
			backend, _ := c.Flags().GetString("backend")
			if err != nil || c.Name() != "serve" || backend != "redis" || len(c.Flags().Args()) != 0 {
				t.Errorf("serve args %v: %v (command %s, backend %q)", args, err, c.Name(), backend)
			}
		default:
			t.Errorf("unexpected chatbench container in %s", x.owner)
		}
	}
}

func ptrText[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// The patch docs/kubernetes.md gives for K = 8 shards renders a Job whose
// completions, parallelism and --shard agree.
func TestK8sDocsShardPatch(t *testing.T) {
	doc, err := os.ReadFile("../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(doc), "(K = 8):\n\n```yaml\n")
	patch, _, ok := strings.Cut(after, "```")
	if !ok || !strings.HasPrefix(patch, "patches:") {
		t.Fatalf("docs/kubernetes.md: no yaml block after \"(K = 8):\"")
	}
	m := renderStrict(t, writeOverlay(t, k8sBase, patch, map[string]string{}))
	job := m.jobs["chatbench-swarm"]
	if k := shardCount(t, job.Spec.Template.Spec.Containers[0].Args); k != 8 || *job.Spec.Completions != 8 || *job.Spec.Parallelism != 8 {
		t.Errorf("docs' K=8 patch: --shard K %d, completions %d, parallelism %d", k, *job.Spec.Completions, *job.Spec.Parallelism)
	}
}
