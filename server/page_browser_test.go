package server_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; the test fails (not skips) without
// it, saying how to install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHATBENCH_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("chromium not found: install it with 'apt-get install chromium' (scripts/services.sh start does), or set CHATBENCH_CHROMIUM")
	return ""
}

// newBrowser starts headless Chromium with the flags this machine needs
// (no sandbox as root, no background networking on a closed network).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// The chat page in a real browser: two pages join the room, a message typed
// in one shows in the other (and in its own log).
func TestChatPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	ts := startServer(t, server.Config{})
	browser := newBrowser(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	alice, cancelA := chromedp.NewContext(ctx)
	defer cancelA()
	bob, cancelB := chromedp.NewContext(ctx)
	defer cancelB()

	join := func(tab context.Context, user string) error {
		return chromedp.Do(tab,
			chromedp.Navigate(ts.base+"/"),
			chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), user),
			chromedp.Click(chromedp.ID("joinbtn")),
			chromedp.WaitEnabled(chromedp.ID("msg")),
		)
	}
	if err := join(alice, "alice"); err != nil {
		t.Fatalf("alice joins: %v", err)
	}
	if err := join(bob, "bob"); err != nil {
		t.Fatalf("bob joins: %v", err)
	}
	ts.waitMembers("chat", 2)

	const text = "hello from alice <b>not bold</b>"
	if err := chromedp.Do(alice,
		chromedp.SendKeys(chromedp.ID("msg"), text),
		chromedp.Click(chromedp.ID("sendbtn")),
	); err != nil {
		t.Fatalf("alice sends: %v", err)
	}
	if err := chromedp.Do(bob, chromedp.WaitVisible(chromedp.CSS(`#log li.msg`))); err != nil {
		t.Fatalf("bob's page: %v", err)
	}
	bobLog, err := chromedp.Run(bob, chromedp.Text(chromedp.ID("log")))
	if err != nil {
		t.Fatal(err)
	}
	bobHTML, err := chromedp.Run(bob, chromedp.InnerHTML(chromedp.ID("log")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bobLog, "alice: "+text) {
		t.Errorf("bob's page shows %q, want alice's message", bobLog)
	}
	if strings.Contains(bobHTML, "<b>") {
		t.Errorf("message markup was rendered as HTML: %q", bobHTML)
	}
	if err := chromedp.Do(alice, chromedp.WaitVisible(chromedp.CSS(`#log li.msg`))); err != nil {
		t.Fatalf("alice's page: %v", err)
	}
	aliceLog, err := chromedp.Run(alice, chromedp.Text(chromedp.ID("log")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aliceLog, "alice: "+text) {
		t.Errorf("alice's own page shows %q, want her message echoed", aliceLog)
	}
}
