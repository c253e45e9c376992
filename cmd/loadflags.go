package cmd

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// loadFlags are the options that describe a load: the target and its
// protocol, the workload's shape and timing, and where the server's cost is
// read. swarm and sweep bind this one set (sweep hands it to every step's
// swarm run unchanged but for the number of users), so each is defined and
// checked once. Unit-bearing values are typed (internal/units): a bad one
// is refused while the command line is parsed.
type loadFlags struct {
	cfg         *loadgen.Config // what the flags are bound into
	urls        []string
	rates       units.Rates
	sizes       units.Sizes
	readLimit   units.Size
	sourceIPs   string
	headers     []string
	token       string
	metricsURLs []string
	caFile      string
	insecure    bool
	protoOpts   []string
	senders     units.CountOrShare
	roomSizes   string
	phases      []string
	workload    string
	churn       units.SharePerS
	storms      []string
}

// newLoadFlags binds into d: d's values are the defaults, with senders
// a count or a share.
func newLoadFlags(d *loadgen.Config, senders units.CountOrShare) *loadFlags {
	l := &loadFlags{cfg: d, senders: senders, rates: units.Rates{PerS: []float64{d.Rate}},
		sizes: units.Sizes{Bytes: d.Size}, readLimit: units.Size{Bytes: 16 << 20}}
	return l
}

func (l *loadFlags) bind(f *pflag.FlagSet) {
	d := l.cfg
	f.Float64Var(&d.Ramp, "ramp", d.Ramp, "connections opened per second")
	f.IntVar(&d.RoomSize, "room-size", d.RoomSize, "members per room (the last room may be smaller); 0: one room of all clients (the blog's setup)")
	f.IntVar(&d.Rooms, "rooms", 0, "number of rooms of equal size, instead of --room-size; client i joins room i%rooms")
	f.Var(&l.senders, "senders", "how many clients talk: a count (500) or a share (10%; 100%: everyone, the blog's setup); the first members of each room, shared out by room size")
	f.StringVar(&l.roomSizes, "room-sizes", "", "room sizes as a distribution: zipf:S:MAX (e.g. zipf:1.1:500) or SIZE:SHARE,... (e.g. 2:50%,10:30%,100:20%: the share of users in rooms of each size)")
	f.Int64Var(&d.Seed, "seed", 1, "seed of the workload's random parts (zipf room sizes)")
	f.Var(&l.rates, "rate", "messages per sender, e.g. 1/s, 10/s, 30/min; 0 holds idle sockets")
	f.Var(&l.sizes, "size", "message size, e.g. 100B, 1KB, 4KiB, or a weighted list 100B:90%,1KB:10%")
	f.StringVar(&d.Arrivals, "arrivals", loadgen.Constant, "when talkers send: constant (every 1/rate, spread evenly) or poisson (random gaps of mean 1/rate, as people chat)")
	f.StringVar(&l.workload, "workload", "", "a workload file (YAML, docs/workloads.md): users, rooms, talkers, rate, arrivals, sizes, phases, churn, protocol; flags given on the command line win over it")
	f.Var(&l.churn, "churn", "share of the users that leave per second while sending (e.g. 1%), each back after --rejoin-after")
	f.DurationVar(&d.RejoinAfter, "rejoin-after", time.Second, "how long a client that left (--churn) stays away")
	f.StringArrayVar(&l.storms, "storm", nil, "a reconnect storm AT:SHARE (repeatable): at AT after sending starts, SHARE of the clients drop and reconnect at once, e.g. 10s:20%")
	f.StringArrayVar(&l.phases, "phase", nil, "a stretch of the steady phase at its own rate, NAME:DURATION:RATE (repeatable, in order; e.g. hold:20s:1/s spike:5s:10/s); their sum is the steady phase")
	f.DurationVar(&d.Warmup, "warmup", d.Warmup, "sending before the steady phase, not counted (0: none)")
	f.DurationVar(&d.Duration, "duration", d.Duration, "steady phase")
	f.DurationVar(&d.Grace, "grace", d.Grace, "longest wait for in-flight deliveries after the last send (0: none)")
	f.DurationVar(&d.Settle, "settle", d.Settle, "pause after the ramp before reading the server's memory, so a burst's garbage is not counted per connection (0: none)")
	l.bindTarget(f)
}

// bindTarget binds the target, its protocol and the cost sources.
func (l *loadFlags) bindTarget(f *pflag.FlagSet) {
	d := l.cfg
	f.StringArrayVar(&l.urls, "url", nil, "target ws:// or wss:// URL with templates (repeatable: one per server node; clients spread round-robin). Default: start 'chatbench serve'")
	f.StringVar(&d.Protocol, "protocol", "raw", "the server's session protocol: "+strings.Join(append([]string{"raw"}, loadgen.Protocols()...), ", ")+" (raw: every text frame is a chat message)")
	f.StringArrayVar(&l.protoOpts, "protocol-opt", nil, "an option of --protocol, name=value (repeatable; see the README's \"your own server\")")
	f.StringVar(&d.Hello, "hello", "", "raw protocol: first text frame after connecting, e.g. '{{user}}' for servers that take the user name first")
	f.StringVar(&d.Message, "message", d.Message, "message template; must contain {{probe}}")
	f.BoolVar(&d.Compression, "compression", false, "offer permessage-deflate (no context takeover) as browsers do, to measure the server's cost with it")
	f.BoolVar(&d.NoEcho, "no-echo", false, "the server does not send a message back to its sender (expect one receiver fewer)")
	f.StringVar(&l.caFile, "ca", "", "PEM CA certificate(s) to trust for wss:// targets, besides the system's roots")
	f.BoolVar(&l.insecure, "insecure", false, "wss://: skip certificate verification (UNSAFE: for self-signed test servers only)")
	f.StringArrayVar(&l.headers, "header", nil, "extra upgrade request header 'Name: value' (repeatable)")
	f.StringVar(&l.token, "token", "", "send 'Authorization: Bearer TOKEN' with every upgrade (a server that wants a token, e.g. chatbench serve --token)")
	f.StringVar(&l.sourceIPs, "source-ips", "", "local source addresses used round-robin, e.g. 127.0.0.1-127.0.0.8")
	f.IntSliceVar(&d.ServerPIDs, "server-pid", nil, "read a server node's memory and CPU from /proc/PID (repeatable: one per node; their costs add up)")
	f.StringArrayVar(&l.metricsURLs, "metrics-url", []string{"auto"}, "Prometheus endpoint with a node's process metrics (repeatable: one per node; 'auto': /metrics of every --url's host; 'none')")
	f.DurationVar(&d.ConnectTimeout, "connect-timeout", d.ConnectTimeout, "bound on TCP connect + upgrade")
	f.DurationVar(&d.WriteTimeout, "write-timeout", d.WriteTimeout, "bound on one write; a socket that times out is closed and counted")
	f.DurationVar(&d.PingInterval, "ping-interval", d.PingInterval, "ping a socket after this much silence from the server")
	f.DurationVar(&d.PingTimeout, "ping-timeout", d.PingTimeout, "close a pinged socket still silent this much longer and count it lost (ping_timeout): a frozen or vanished server (0: never)")
	f.IntVar(&d.ReadBuffer, "read-buffer", d.ReadBuffer, "per-socket read buffer in bytes (larger frames borrow a pooled buffer)")
	f.Var(&l.readLimit, "read-limit", "largest frame (or message) accepted from the server; a larger one drops the socket as frame_too_big (close 1009)")
}

// validate turns the flags into the config; every problem is a usage error
// naming the flag. The config's Clients must be set (a count of senders
// is checked against it).
func (l *loadFlags) validate(flags *pflag.FlagSet) error {
	var err error
	d := l.cfg
	if d.PingTimeout <= 0 || d.PingInterval <= 0 {
		d.PingTimeout = -1 // off
	}
	d.Rate = l.rates.PerS[0]
	d.Size, d.Sizes = l.sizes.Bytes, nil
	for _, s := range l.sizes.List {
		d.Sizes = append(d.Sizes, loadgen.SizeShare{Bytes: s.Bytes, Share: s.Share})
	}
	if d.SourceIPs, err = loadgen.ParseSourceIPs(l.sourceIPs); err != nil {
		return usageErr("--source-ips: %v", err)
	}
	if !strings.Contains(d.Message, "{{probe}}") {
		return usageErr("--message %q: must contain {{probe}}", d.Message)
	}
	for _, kv := range l.protoOpts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErr("--protocol-opt %q: want name=value", kv)
		}
		if d.ProtocolOptions == nil {
			d.ProtocolOptions = map[string]string{}
		}
		d.ProtocolOptions[k] = v
	}
	switch {
	case d.Ramp <= 0 || d.RoomSize < 0 || d.Rooms < 0:
		return usageErr("--ramp must be positive; --room-size, --rooms not negative")
	case d.Duration <= 0 || d.Warmup < 0 || d.Grace < 0 || d.Settle < 0:
		return usageErr("--duration must be positive; --warmup, --grace and --settle not negative")
	}
	if err := l.validateShape(flags); err != nil {
		return err
	}
	return l.validateTarget()
}

// validateShape checks the room sizes and talkers. --rooms or
// --room-sizes replace the default room size.
func (l *loadFlags) validateShape(flags *pflag.FlagSet) error {
	d := l.cfg
	var err error
	if !flags.Changed("room-size") && (flags.Changed("rooms") || flags.Changed("room-sizes")) {
		d.RoomSize = 0
	}
	if l.roomSizes != "" {
		if d.RoomWeights, d.Zipf, err = loadgen.ParseRoomSizes(l.roomSizes); err != nil {
			return usageErr("--room-sizes %v", err)
		}
	}
	if d.RoomSize > 0 && d.Rooms > 0 || (d.RoomSize > 0 || d.Rooms > 0) && l.roomSizes != "" {
		return usageErr("--room-size, --rooms and --room-sizes: give one")
	}
	d.Senders, d.Talkers = 0, 0
	if l.senders.IsShare {
		d.Talkers = l.senders.Share
	} else if d.Senders = int(l.senders.Count); l.senders.Count > int64(d.Clients) {
		return usageErr("--senders %d: more than the %d users; give a count up to %d or a share like 10%%", l.senders.Count, d.Clients, d.Clients)
	}
	if d.Arrivals != loadgen.Constant && d.Arrivals != loadgen.Poisson {
		return usageErr("--arrivals %q: want constant or poisson", d.Arrivals)
	}
	d.Phases = nil
	for _, ph := range l.phases {
		p, err := parsePhase(ph)
		if err != nil {
			return usageErr("--phase %q: %v", ph, err)
		}
		d.Phases = append(d.Phases, p)
	}
	if len(d.Phases) > 0 {
		if flags.Changed("duration") {
			return usageErr("--duration and --phase: give one (the phases' durations add up to the steady phase)")
		}
		d.Duration = 0 // the phases' sum
	}
	d.Churn = float64(l.churn)
	d.Storms = nil
	for _, st := range l.storms {
		at, share, ok := strings.Cut(st, ":")
		a, err1 := time.ParseDuration(at)
		sh, err2 := units.ParseShare(share)
		if !ok || err1 != nil || err2 != nil || a < 0 || sh <= 0 {
			return usageErr("--storm %q: want AT:SHARE, e.g. 10s:20%%", st)
		}
		d.Storms = append(d.Storms, loadgen.Storm{At: a, Share: sh})
	}
	return nil
}

// parsePhase parses NAME:DURATION:RATE.
func parsePhase(s string) (loadgen.Phase, error) {
	f := strings.SplitN(s, ":", 3)
	if len(f) != 3 || f[0] == "" {
		return loadgen.Phase{}, fmt.Errorf("want NAME:DURATION:RATE, e.g. spike:5s:10/s")
	}
	d, err := time.ParseDuration(f[1])
	if err != nil || d <= 0 {
		return loadgen.Phase{}, fmt.Errorf("duration %q: want e.g. 20s", f[1])
	}
	rate, err := units.ParseRate(f[2])
	if err != nil {
		return loadgen.Phase{}, err
	}
	return loadgen.Phase{Name: f[0], Duration: d, Rate: rate}, nil
}

// validateTarget checks the URLs, TLS, headers and cost sources.
func (l *loadFlags) validateTarget() error {
	d := l.cfg
	var err error
	for _, u := range l.urls {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ws" && pu.Scheme != "http" && pu.Scheme != "wss" && pu.Scheme != "https") || pu.Host == "" {
			return usageErr("--url %q: want ws://host:port/path or wss://host:port/path", u)
		}
	}
	if l.caFile != "" && l.insecure {
		return usageErr("--ca and --insecure: give one (--insecure skips verification, so the CA would not be used)")
	}
	if d.TLS, err = wsclient.TLSConfig(l.caFile, l.insecure); err != nil {
		return usageErr("--ca: %v", err)
	}
	d.Header = nil
	for _, h := range l.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return usageErr("--header %q: want 'Name: value'", h)
		}
		if d.Header == nil {
			d.Header = http.Header{}
		}
		d.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if l.token != "" {
		if d.Header == nil {
			d.Header = http.Header{}
		}
		d.Header.Set("Authorization", "Bearer "+l.token)
	}
	if l.readLimit.Bytes < 1 || l.readLimit.Bytes > 1<<40 {
		return usageErr("--read-limit %s: want a size from 1B to 1TiB, like 16MiB or 64KB", l.readLimit.String())
	}
	d.ReadLimit = int64(l.readLimit.Bytes)
	for _, pid := range d.ServerPIDs {
		if pid <= 0 {
			return usageErr("--server-pid %d: want a process id", pid)
		}
	}
	for _, m := range l.metricsURLs {
		if m == "auto" || m == "none" {
			continue
		}
		if pu, err := url.Parse(m); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return usageErr("--metrics-url %q: want http://host:port/metrics, auto or none", m)
		}
	}
	return nil
}
