package broker_test

import (
	"testing"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// TestMemoryConformance runs the shared suite on memory brokers: every node
// of one test shares one Bus, standing in for the network between nodes.
func TestMemoryConformance(t *testing.T) {
	bus := broker.NewBus()
	brokertest.Run(t, func(testing.TB, string, broker.Lifecycle) broker.Broker { return broker.NewMemory(bus) })
}
