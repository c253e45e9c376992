//go:build !linux

package wsclient

// chatbench runs on Linux only: it reads /proc for costs, sets Linux
// socket options (IP_BIND_ADDRESS_NO_PORT) and asks the kernel to stop its
// child servers with it (prctl PDEATHSIG). This line makes a build for
// another system fail saying so.
var _ int = "chatbench builds on Linux only (it reads /proc and uses Linux socket options)"
