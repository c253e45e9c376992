package rabbitmq

import (
	"testing"

	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// BenchmarkRoundTrip: Publish on one node to the Handler of another through
// the shared RabbitMQ, the receiver also getting its own echoes back.
func BenchmarkRoundTrip(b *testing.B) {
	brokertest.BenchRoundTrip(b, func(b *testing.B) brokertest.NewNode {
		newNode, _ := factory(b, DefaultURL)
		return newNode
	})
}

// BenchmarkGuaranteeRoundTrip is BenchmarkRoundTrip in the guarantee mode.
func BenchmarkGuaranteeRoundTrip(b *testing.B) {
	brokertest.BenchRoundTrip(b, func(b *testing.B) brokertest.NewNode {
		newNode, _ := guaranteeFactory(b, DefaultURL)
		return newNode
	})
}
