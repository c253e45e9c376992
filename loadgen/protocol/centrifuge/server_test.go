package centrifuge_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/centrifugal/centrifuge"
)

// serverEnv makes the test binary act as a Centrifuge chat server (a
// process of its own, so its cost can be read from /proc as any server's):
// its value is the ping interval. Run by hand for measurements:
//
//	go test -c -o /tmp/cfsrv ./loadgen/protocol/centrifuge/
//	CHATBENCH_CENTRIFUGE_SERVER=1s /tmp/cfsrv
const serverEnv = "CHATBENCH_CENTRIFUGE_SERVER"

// chatServer is a Centrifuge server as a chat application would run one:
// a client connects with any token but "invalid" (disconnected: 3500
// invalid token) and "denied" (refused: error 101 unauthorized),
// subscribes to any channel and may publish to a channel it is subscribed
// to; the server pings every interval and drops a client that does not
// answer in half of it.
func chatServer(ping time.Duration) error {
	node, err := centrifuge.New(centrifuge.Config{LogLevel: centrifuge.LogLevelError})
	if err != nil {
		return err
	}
	node.OnConnecting(func(_ context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		switch e.Token {
		case "invalid":
			return centrifuge.ConnectReply{}, centrifuge.DisconnectInvalidToken
		case "denied":
			return centrifuge.ConnectReply{}, centrifuge.ErrorUnauthorized
		}
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: "chat"}}, nil
	})
	node.OnConnect(func(c *centrifuge.Client) {
		c.OnSubscribe(func(_ centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
		c.OnPublish(func(e centrifuge.PublishEvent, cb centrifuge.PublishCallback) {
			if !c.IsSubscribed(e.Channel) {
				cb(centrifuge.PublishReply{}, centrifuge.ErrorPermissionDenied)
				return
			}
			cb(centrifuge.PublishReply{}, nil)
		})
	})
	if err := node.Run(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
		PingPongConfig: centrifuge.PingPongConfig{PingInterval: ping, PongTimeout: ping / 2},
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return node.Shutdown(context.Background())
}
