package chaos

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/chatbench/chatbench/loadgen"
)

// node is one serve node of a run, with the proxy between it and the broker.
type node struct {
	name   string
	child  *loadgen.ChildServer
	proxy  *proxy // nil on the memory backend
	killed atomic.Bool
}

// nodeArgs is the serve command line of node i talking to the broker at
// brokerURL ("" on the memory backend). The node id is stable, so a node
// that keeps state on the broker (--amqp-guarantee: a durable queue of
// its own) finds it again.
func (c *Config) nodeArgs(i int, brokerURL string) []string {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--backend", c.Backend, "--log-level", "warn",
		"--slow-policy", "drop", "--max-msg-rate", "0", "--node-id", fmt.Sprintf("chaos-node-%d", i)}
	switch c.Backend {
	case Redis:
		args = append(args, "--redis-url", brokerURL)
	case RabbitMQ:
		args = append(args, "--amqp-url", brokerURL)
	}
	if c.Guarantee {
		args = append(args, "--amqp-guarantee")
	}
	return append(args, c.ServeArgs...)
}

// startNodes starts cfg.Nodes serve nodes, each through a proxy of its
// own to b (nil: memory); on an error none is left running.
func startNodes(ctx context.Context, cfg *Config, b *Broker) ([]*node, error) {
	var nodes []*node
	for i := 0; i < cfg.Nodes; i++ {
		n := &node{name: fmt.Sprintf("node %d", i)}
		url := ""
		if b != nil {
			p, err := newProxy(b.Addr())
			if err != nil {
				stopNodes(nodes)
				return nil, err
			}
			n.proxy, url = p, b.URL(p.Addr())
		}
		child, err := loadgen.StartChild(ctx, cfg.Exe, cfg.nodeArgs(i, url), cfg.Logs)
		if err != nil {
			if n.proxy != nil {
				n.proxy.Close()
			}
			stopNodes(nodes)
			return nil, fmt.Errorf("start serve %s: %w", n.name, err)
		}
		n.child = child
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// kill kills the node with SIGKILL.
func (n *node) kill() error {
	n.killed.Store(true)
	return syscall.Kill(n.child.Pid, syscall.SIGKILL)
}

func (n *node) isKilled() bool { return n.killed.Load() }

// stopNodes stops every node (a killed one is reaped) and its proxy.
func stopNodes(nodes []*node) {
	for _, n := range nodes {
		if n.child != nil {
			_ = n.child.Stop()
		}
		if n.proxy != nil {
			n.proxy.Close()
		}
	}
}
