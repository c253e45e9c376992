package rabbitmq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// TestGuaranteeConformance runs the shared suite against the shared
// RabbitMQ with every node in the guarantee mode.
func TestGuaranteeConformance(t *testing.T) {
	newNode, _ := guaranteeFactory(t, sharedURL(t))
	brokertest.Run(t, newNode)
}

// TestGuaranteeDropsRepeats: a message that reaches the node's queue twice
// with the same message id (as a publisher's resend does) is handed on once
// and counted as a suppressed duplicate; a message with a new id passes.
func TestGuaranteeDropsRepeats(t *testing.T) {
	u := sharedURL(t)
	newNode, exchange := guaranteeFactory(t, u)
	b := brokertest.StartNode(t, newNode, "b")
	a := brokertest.StartNode(t, newNode, "a")
	room := brokertest.Room(t, "dup")
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)
	c, err := amqp.Dial(u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"x/1:7", "x/1:7", "x/1:8", "x/1:7"} {
		err := ch.PublishWithContext(context.Background(), exchange, RoutingKey(room), false, false, amqp.Publishing{
			Headers: amqp.Table{headerRoom: room, headerOrigin: "x"}, MessageId: id, Body: []byte(id),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sb := b.Broker.(*Broker)
	if !brokertest.WaitUntil(10*time.Second, func() bool { return sb.Stats().Duplicates == 2 }) {
		t.Fatalf("duplicates = %d, want 2", sb.Stats().Duplicates)
	}
	if !b.Recorder().Wait(10*time.Second, func() bool { return len(b.Recorder().Messages(room)) == 2 }) {
		t.Fatalf("handler got %d messages, want 2 (ids 7 and 8 once each)", len(b.Recorder().Messages(room)))
	}
	got := b.Recorder().Messages(room)
	if string(got[0].Payload) != "x/1:7" || string(got[1].Payload) != "x/1:8" {
		t.Errorf("handler got %q then %q", got[0].Payload, got[1].Payload)
	}
}

// TestGuaranteeNeedsNodeID: the guarantee mode refuses to start without a
// stable node ID, naming the flag.
func TestGuaranteeNeedsNodeID(t *testing.T) {
	_, err := New(Config{Guarantee: true})
	if !errors.Is(err, ErrNoNodeID) || !strings.Contains(err.Error(), "--node-id") {
		t.Fatalf("New without NodeID = %v, want ErrNoNodeID naming --node-id", err)
	}
	long := strings.Repeat("n", 250)
	if _, err := New(Config{Guarantee: true, NodeID: long}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("New with a 250-byte NodeID = %v, want too long", err)
	}
	if b, err := New(Config{NodeID: long}); err != nil { // at most once: the ID only names the connection
		t.Fatalf("at-most-once New with a long NodeID: %v", err)
	} else {
		_ = b.Close()
	}
}

// TestGuaranteeSecondNodeSameID: a second node with the same ID is refused
// at start (the queue's consumer is exclusive), with the reason.
func TestGuaranteeSecondNodeSameID(t *testing.T) {
	newNode, _ := guaranteeFactory(t, sharedURL(t))
	brokertest.StartNode(t, newNode, "same")
	b := newNode(t, "same", broker.Lifecycle{})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.Start(ctx, "same", func(broker.Message) {})
	if err == nil || !strings.Contains(err.Error(), `another node running with node ID "same"`) {
		t.Fatalf("second Start = %v, want a refusal naming the node ID", err)
	}
}

// TestGuaranteeMetricsLint: the mode's collector adds its drop reasons, the
// duplicates counter and the retry buffer gauge, and lints.
func TestGuaranteeMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b, err := New(Config{Registerer: reg, Guarantee: true, NodeID: "n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	problems, err := testutil.CollectAndLint(b.Collector())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// 14 series of every networked broker + 2 reasons + duplicates +
	// retry buffered.
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 18 {
		t.Errorf("gathered %d series (%v), want 18", n, err)
	}
}

// Only the guarantee mode acknowledges what it handed on, so only there may
// the server's Handler wait (broker.Waiter): the at-most-once mode's
// Handler must never block its consumer.
func TestOnlyTheGuaranteeModeLetsTheHandlerWait(t *testing.T) {
	for _, tc := range []struct {
		guarantee bool
		want      bool
	}{{false, false}, {true, true}} {
		b, err := New(Config{NodeID: "n", Guarantee: tc.guarantee})
		if err != nil {
			t.Fatal(err)
		}
		var w broker.Waiter = b
		if got := w.HandlerMayWait(); got != tc.want {
			t.Errorf("guarantee %v: HandlerMayWait %v, want %v", tc.guarantee, got, tc.want)
		}
		_ = b.Close()
	}
}
