package wsclient_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// subprotocolServer accepts with the subprotocols it knows (coder/websocket
// picks the first the client offered), then closes with close.
func subprotocolServer(t *testing.T, known []string, code websocket.StatusCode, reason string) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: known})
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), websocket.MessageText, []byte(c.Subprotocol())); err != nil {
			return
		}
		_ = c.Close(code, reason)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse("ws" + strings.TrimPrefix(srv.URL, "http"))
	return u
}

// The offered subprotocol reaches the server, which chooses it; a close
// frame's code and reason come back as a *CloseError.
func TestSubprotocolAndCloseReason(t *testing.T) {
	u := subprotocolServer(t, []string{"v12.stomp", "mqtt"}, 3500, "invalid token")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, u, wsclient.DialOptions{Subprotocol: "mqtt"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.NetConn().Close()
	msg, _, err := c.ReadMessage(time.Now().Add(5 * time.Second))
	if err != nil || string(msg) != "mqtt" {
		t.Fatalf("the server chose %q (%v), want mqtt", msg, err)
	}
	_, _, err = c.ReadMessage(time.Now().Add(5 * time.Second))
	var ce *wsclient.CloseError
	if !errors.As(err, &ce) || ce.Code != 3500 || ce.Reason != "invalid token" {
		t.Fatalf("got %v, want close 3500 with reason \"invalid token\"", err)
	}
}

// A server that does not know the offered subprotocol may choose none
// (the connection stands, as browsers allow it).
func TestSubprotocolNotChosen(t *testing.T) {
	u := subprotocolServer(t, nil, websocket.StatusNormalClosure, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, u, wsclient.DialOptions{Subprotocol: "mqtt"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.NetConn().Close()
	if msg, _, err := c.ReadMessage(time.Now().Add(5 * time.Second)); err != nil || len(msg) != 0 {
		t.Fatalf("got %q, %v; want an empty subprotocol", msg, err)
	}
}

// A server that answers with a subprotocol the client did not offer fails
// the connection (RFC 6455 4.1).
func TestSubprotocolNotOffered(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Sec-WebSocket-Accept", base64.StdEncoding.EncodeToString(sum[:]))
		w.Header().Set("Sec-WebSocket-Protocol", "v10.stomp")
		w.WriteHeader(http.StatusSwitchingProtocols)
	}))
	defer srv.Close()
	u, _ := url.Parse("ws" + strings.TrimPrefix(srv.URL, "http"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := wsclient.Dial(ctx, u, wsclient.DialOptions{Subprotocol: "v12.stomp"})
	if err == nil || !strings.Contains(err.Error(), `server chose subprotocol "v10.stomp", offered "v12.stomp"`) {
		t.Fatalf("got %v, want the connection failed for an unoffered subprotocol", err)
	}
}
