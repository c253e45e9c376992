package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The chat page served over https connects with wss:// (same origin) in a
// real browser, and a message round-trips through the TLS server.
func TestChatPageOverHTTPSUsesWSS(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	ts, _ := startTLSServer(t, config(nil))
	// The test's certificate is self-signed: tell Chromium to accept it.
	browser := newBrowser(t, chromedp.Flag("ignore-certificate-errors", true))
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	tab, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if err := chromedp.Do(tab,
		chromedp.Navigate(ts.base+"/"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "carol"),
		chromedp.Click(chromedp.ID("joinbtn")),
		chromedp.WaitEnabled(chromedp.ID("msg")),
	); err != nil {
		t.Fatalf("join over https: %v", err)
	}
	ts.waitMembers("chat", 1)
	const text = "over wss"
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("msg"), text),
		chromedp.Click(chromedp.ID("sendbtn")),
		chromedp.WaitVisible(chromedp.CSS(`#log li.msg`)),
	); err != nil {
		t.Fatalf("send over wss: %v", err)
	}
	log, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("log")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "carol: "+text) {
		t.Errorf("page shows %q, want carol's message back over wss", log)
	}
	if proto, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.protocol`)); err != nil || proto != "https:" {
		t.Errorf("page protocol %q (%v), want https:", proto, err)
	}
	if got := counter(t, ts, "chatbench_connections_accepted_total"); got != 1 {
		t.Errorf("%v WebSockets accepted, want the page's one (over TLS: the listener speaks nothing else)", got)
	}
}
