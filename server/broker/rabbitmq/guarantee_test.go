package rabbitmq

import (
	"testing"

	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// TestGuaranteeConformance runs the shared suite against the shared
// RabbitMQ with every node in the guarantee mode.
func TestGuaranteeConformance(t *testing.T) {
	newNode, _ := guaranteeFactory(t, sharedURL(t))
	brokertest.Run(t, newNode)
}
