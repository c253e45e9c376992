package redisbroker

import (
	"fmt"
	"testing"

	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// BenchmarkRoundTrip: Publish on one node to the Handler of another through
// the shared Redis, the receiver also getting its own echoes back.
func BenchmarkRoundTrip(b *testing.B) {
	for _, rooms := range []int{1, 16} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) {
			newNode, _ := factory(Config{URL: DefaultURL})
			brokertest.BenchRoundTrip(b, newNode, rooms)
		})
	}
}
