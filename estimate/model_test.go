package estimate

import (
	"strings"
	"testing"
)

func blogConfig() Config {
	return Config{RAMBytes: 8e9, RAMText: "8GB", Cores: 4, Users: 1000, RatePerS: 10, SizeBytes: 100}
}

func line(t *testing.T, r *Report, key string) Line {
	t.Helper()
	for _, l := range r.Lines {
		if l.Key == key {
			return l
		}
	}
	t.Fatalf("no line %q", key)
	return Line{}
}

// The blog's arithmetic, to the digit, as the blog writes it.
func TestBlogArithmetic(t *testing.T) {
	r, err := Build(blogConfig())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		key   string
		value float64
		text  string
	}{
		{"connections", 800000, "8 GB / 10 KB = 8,000,000 KB / 10 KB = 800,000"},
		{"messages_per_s", 10000, "1,000 users × 10 msg/s = 10,000 messages/s"},
		{"egress_bytes_per_s", 1000000, "1,000 × 10 × 100 B = 1 MB/s"},
	}
	for _, c := range cases {
		l := line(t, r, c.key)
		if l.BlogValue == nil || *l.BlogValue != c.value {
			t.Errorf("%s: blog value %v, want %v", c.key, l.BlogValue, c.value)
		}
		if l.Blog != c.text {
			t.Errorf("%s: blog %q, want %q", c.key, l.Blog, c.text)
		}
	}
	if l := line(t, r, "deliveries_per_s"); l.BlogValue != nil {
		t.Errorf("the blog does not count deliveries, got %v", *l.BlogValue)
	}
}

// The blog's units are decimal: 8 GiB is not 8 GB.
func TestBlogArithmeticBinaryRAM(t *testing.T) {
	c := blogConfig()
	c.RAMBytes, c.RAMText = 8*(1<<30), "8GiB"
	r, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	l := line(t, r, "connections")
	if *l.BlogValue != 858993 || !strings.HasSuffix(l.Blog, "= 858,993") || !strings.HasPrefix(l.Blog, "8GiB (8.59 GB)") {
		t.Errorf("8GiB / 10 KB: %q (%v), want 858,993", l.Blog, *l.BlogValue)
	}
}

func TestFrameSizes(t *testing.T) {
	cases := []struct{ payload, header float64 }{{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}}
	for _, c := range cases {
		if got := ServerFrameHeader(c.payload); got != c.header {
			t.Errorf("ServerFrameHeader(%v) = %v, want %v", c.payload, got, c.header)
		}
		if got := ClientFrameHeader(c.payload); got != c.header+4 {
			t.Errorf("ClientFrameHeader(%v) = %v, want %v", c.payload, got, c.header+4)
		}
	}
	// {"user":"abcdefgh","room":"chat","message":"<100 B>"}
	env := `{"user":"abcdefgh","room":"chat","message":"` + strings.Repeat("x", 100) + `"}`
	if got := EnvelopeBytes(8, 4, 100); got != float64(len(env)) {
		t.Errorf("EnvelopeBytes = %v, want len(%s) = %d", got, env, len(env))
	}
	// 34+8+4+79 = 125: the largest 2-byte-header frame.
	if got := DeliveryFrameBytes(8, 4, 79); got != 127 {
		t.Errorf("DeliveryFrameBytes(79 B) = %v, want 127", got)
	}
	if got := DeliveryFrameBytes(8, 4, 80); got != 130 {
		t.Errorf("DeliveryFrameBytes(80 B) = %v, want 130", got)
	}
	if got := DeliveryFrameBytes(8, 4, 70000); got != 70056 {
		t.Errorf("DeliveryFrameBytes(70000 B) = %v, want 70056", got)
	}
}

// The fan-out model against cases computed by hand.
func TestFanOutModel(t *testing.T) {
	t.Run("blog example", func(t *testing.T) {
		r, err := Build(blogConfig())
		if err != nil {
			t.Fatal(err)
		}
		m := r.Model
		check(t, "messages/s", m.MessagesPerS, 10000)
		check(t, "deliveries/s", m.DeliveriesPerS, 10_000_000) // 1,000 × 10 × 1,000
		check(t, "frame", m.FrameBytes, 150)                   // 4 + (34 + 8 + 4 + 100)
		check(t, "egress", m.EgressBytesPerS, 1.5e9)           // 10M × 150
		check(t, "ingress", m.IngressBytesPerS, 1.06e6)        // 10k × (100 + 2 + 4)
		check(t, "cores needed", m.CPUCoresNeeded, 30)         // 10M × 3 µs
		check(t, "largest room", m.LargestRoom, 365)           // √(4e6/3/10) = 365.1
		check(t, "conns in RAM", m.ConnsInRAM, 800000)         // 8e9 / 10e3
		check(t, "ram needed", m.RAMNeededBytes, 10e6)         // 1,000 × 10 KB
		check(t, "capacity", m.DeliveryCapacityPerS, 4e6/3)    // 4 cores / 3 µs
		if m.LargestRoomLimit != "CPU" {
			t.Errorf("limit %q, want CPU", m.LargestRoomLimit)
		}
		if l := line(t, r, "egress_bytes_per_s"); !strings.Contains(l.Model, "= 1.5 GB/s (12 Gbit/s)") {
			t.Errorf("egress line %q", l.Model)
		}
	})
	t.Run("small rooms, half send", func(t *testing.T) {
		c := Config{RAMBytes: 1e9, Cores: 2, Users: 100, RatePerS: 0.5, SizeBytes: 50, RoomSize: 10, Senders: 50,
			UserNameBytes: 5, RoomNameBytes: 3, CPUUsPerDelivery: 4}
		r, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		m := r.Model
		check(t, "rooms", m.Rooms, 10)
		check(t, "envelope", m.EnvelopeBytes, 92)         // 34 + 5 + 3 + 50
		check(t, "frame", m.FrameBytes, 94)               // 2 + 92
		check(t, "messages/s", m.MessagesPerS, 25)        // 50 × 0.5
		check(t, "deliveries/s", m.DeliveriesPerS, 250)   // 25 × 10
		check(t, "egress", m.EgressBytesPerS, 23500)      // 250 × 94
		check(t, "ingress", m.IngressBytesPerS, 1400)     // 25 × (50 + 6)
		check(t, "largest room", m.LargestRoomCPU, 1414)  // √(2e6/4 / (0.5 × 0.5)) = 1414.2
		check(t, "users per node", m.UsersPerNode, 1e5)   // RAM: 1e9/1e4 = 100,000 < CPU 200,000
		check(t, "cores needed", m.CPUCoresNeeded, 0.001) // 250 × 4 µs
		if m.UsersPerNodeLimit != "memory" {
			t.Errorf("users per node limit %q, want memory", m.UsersPerNodeLimit)
		}
		if l := line(t, r, "users_per_node"); l.Value != 1e5 {
			t.Errorf("users_per_node line %v", l.Value)
		}
	})
	t.Run("egress-bound with a NIC", func(t *testing.T) {
		c := blogConfig()
		c.NICBitsPerS = 1e9 // 125 MB/s
		c.CPUUsPerDelivery = 0.1
		r, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		// CPU: √(4e6/0.1/10) = 2,000; NIC: √(125e6/150/10) = 288.7
		check(t, "largest room (CPU)", r.Model.LargestRoomCPU, 2000)
		check(t, "largest room (NIC)", r.Model.LargestRoomNIC, 288)
		check(t, "largest room", r.Model.LargestRoom, 288)
		if r.Model.LargestRoomLimit != "egress" {
			t.Errorf("limit %q, want egress", r.Model.LargestRoomLimit)
		}
		check(t, "nic share %", line(t, r, "nic_share").Value, 1200) // 12 Gbit/s of 1 Gbit/s
	})
	t.Run("memory-bound", func(t *testing.T) {
		c := blogConfig()
		c.RAMBytes, c.KBPerConn = 1e6, 10 // 100 connections
		r, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "largest room", r.Model.LargestRoom, 100)
		if r.Model.LargestRoomLimit != "memory" {
			t.Errorf("limit %q, want memory", r.Model.LargestRoomLimit)
		}
	})
}

func check(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !near(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestAssumptionSources(t *testing.T) {
	r, err := Build(blogConfig())
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]string{}
	for _, a := range r.Assumptions {
		src[a.Key] = a.SourceText()
		if a.Why == "" {
			t.Errorf("%s has no reason", a.Key)
		}
	}
	want := map[string]string{"kb_per_conn": "blog", "cpu_us_per_delivery": "default", "senders": "default",
		"room_size": "default", "user_name_bytes": "default", "room_name_bytes": "default"}
	for k, v := range want {
		if src[k] != v {
			t.Errorf("%s source %q, want %q", k, src[k], v)
		}
	}
	for _, l := range r.Lines {
		if len(l.RestsOn) == 0 {
			t.Errorf("line %s rests on nothing", l.Key)
		}
	}
	c := blogConfig()
	c.CPUUsPerDelivery = 5
	r, _ = Build(c)
	for _, a := range r.Assumptions {
		if a.Key == "cpu_us_per_delivery" && (a.Value != 5 || a.SourceText() != "given --cpu-per-delivery") {
			t.Errorf("given cpu: %+v", a)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.RAMBytes = 0 }, "--ram must be more than 0"},
		{func(c *Config) { c.Cores = 0 }, "--cores must be more than 0"},
		{func(c *Config) { c.Users = 0 }, "--users must be more than 0"},
		{func(c *Config) { c.RatePerS = 0 }, "--rate must be more than 0"},
		{func(c *Config) { c.RoomSize = 2000 }, "--room-size 2000 is larger than --users 1000"},
		{func(c *Config) { c.Senders = 2000 }, "--senders 2000 is larger than --users 1000"},
	}
	for _, c := range cases {
		cfg := blogConfig()
		c.mut(&cfg)
		_, err := Build(cfg)
		if err == nil || err.Error() != c.want {
			t.Errorf("err %v, want %q", err, c.want)
		}
	}
}
