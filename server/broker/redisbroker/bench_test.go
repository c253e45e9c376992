package redisbroker

import (
	"testing"

	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// BenchmarkRoundTrip: Publish on one node to the Handler of another through
// the shared Redis, the receiver also getting its own echoes back.
func BenchmarkRoundTrip(b *testing.B) {
	brokertest.BenchRoundTrip(b, func(*testing.B) brokertest.NewNode {
		newNode, _ := factory(Config{URL: DefaultURL})
		return newNode
	})
}
