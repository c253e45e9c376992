package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/browsertest"
	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium for one test.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return browsertest.New(t, extra...)
}

// The chat page in a real browser: two pages join the room, a message typed
// in one shows in the other (and in its own log).
func TestChatPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	ts := startServer(t, config(nil))
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
