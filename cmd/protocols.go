package cmd

// The protocol adapters swarm speaks besides raw text (--protocol); each
// registers itself with loadgen.RegisterProtocol. Workers of --procs are
// this binary too, so they know the same protocols.
import (
	_ "github.com/chatbench/chatbench/loadgen/protocol/centrifuge"
	_ "github.com/chatbench/chatbench/loadgen/protocol/mqtt"
	_ "github.com/chatbench/chatbench/loadgen/protocol/socketio"
	_ "github.com/chatbench/chatbench/loadgen/protocol/stomp"
)
