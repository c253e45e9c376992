package chaos

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// readyWatch polls /readyz on every node that is alive, every
// readyPoll, and keeps when all of them answered 200 and when not.
type readyWatch struct {
	nodes  []*node
	client *http.Client
	mu     sync.Mutex
	rounds []readyRound
	stop   context.CancelFunc
	done   chan struct{}
}

type readyRound struct {
	at  time.Time
	all bool // every node alive answered 200
}

const readyPoll = 50 * time.Millisecond

func watchReady(nodes []*node) *readyWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &readyWatch{nodes: nodes, client: &http.Client{Timeout: time.Second}, stop: cancel, done: make(chan struct{})}
	go func() { defer close(w.done); w.loop(ctx) }()
	return w
}

func (w *readyWatch) loop(ctx context.Context) {
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		w.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// round asks every live node at once; the round's time is when it began
// (a node that answers late was not ready then).
func (w *readyWatch) round(ctx context.Context) {
	at := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	all := true
	for _, n := range w.nodes {
		if n.isKilled() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !w.ready(ctx, n.child.BaseURL+"/readyz") {
				mu.Lock()
				all = false
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	w.rounds = append(w.rounds, readyRound{at: at, all: all})
	w.mu.Unlock()
}

func (w *readyWatch) ready(ctx context.Context, url string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := w.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop ends the polling.
func (w *readyWatch) Stop() {
	w.stop()
	<-w.done
}

// readyAgain is the time from cleared until every live node answered 200
// and kept answering it to the last round (a node that notices the fault
// late is not ready again until it recovers); false when the last round
// was not all ready.
func (w *readyWatch) readyAgain(cleared time.Time) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.rounds) == 0 || !w.rounds[len(w.rounds)-1].all {
		return 0, false
	}
	since := w.rounds[0].at
	for i := len(w.rounds) - 1; i >= 0; i-- {
		if !w.rounds[i].all {
			since = w.rounds[i+1].at
			break
		}
	}
	return max(0, since.Sub(cleared)), true
}

// readySince reports whether the last round began after t and found every
// live node ready.
func (w *readyWatch) readySince(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.rounds) == 0 {
		return false
	}
	last := w.rounds[len(w.rounds)-1]
	return last.all && last.at.After(t)
}
