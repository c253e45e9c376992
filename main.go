// Command chatbench measures how many users a WebSocket broadcast setup can
// hold, at what latency and cost. See README.md.
package main

import (
	"os"

	"github.com/chatbench/chatbench/cmd"
)

func main() {
	os.Exit(cmd.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
