package wsclient

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// BindNoPort is a net.Dialer Control for dialers with a LocalAddr: it sets
// IP_BIND_ADDRESS_NO_PORT, so bind() only fixes the source address and the
// port is chosen at connect() for the whole 4-tuple. Without it, bind()
// picks a port unique to the address alone and (Linux prefers even ports
// for bind) slows down sharply once half of the ephemeral range is in use:
// a 16,000-socket ramp from one source address crawled after 14,000.
func BindNoPort(network, _ string, c syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" && network != "tcp" {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	_ = serr // an old kernel without the option still dials, as before
	return nil
}
