// Package chaos runs fault experiments (the chaos command): it starts its
// own broker (redis-server or rabbitmq-server on a free loopback port, in a
// temporary directory of its own, never a broker the user runs), serve
// nodes as child processes talking to it through loopback proxies it owns,
// and a swarm run (loadgen, traced probe by probe) across the nodes; at a
// known moment of the steady phase it injects one fault and clears it, and
// reports what the fault cost: deliveries lost, duplicated and delayed, the
// gap, the time until every node was ready again and whether every client
// was still connected (results.Chaos).
package chaos
