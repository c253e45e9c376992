// Package htmlreporttest checks HTML reports in a real browser (headless
// Chromium through chromedp), for tests of the packages and commands that
// write them.
package htmlreporttest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/browsertest"
	"github.com/chromedp/chromedp"
)

// DrawnFigures opens the HTML report at path in headless Chromium and
// checks that every figure drew: its SVG has a real size, lines and text
// that the browser laid out, and a screenshot of it is far from blank
// (inked pixels, coloured plot lines). It returns the ids of the figures.
// With CHATBENCH_KEEP_SCREENSHOTS set, each figure's screenshot is kept in
// the temporary directory as chatbench-<id>.png.
func DrawnFigures(t testing.TB, path string) []string {
	t.Helper()
	bctx := browsertest.New(t)
	ctx, cancel := context.WithTimeout(bctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 800), chromedp.Navigate("file://"+path),
		chromedp.WaitVisible(chromedp.CSS("figure.chart svg"))); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	type fig struct {
		ID                 string
		X, Y, W, H         float64 // the SVG's box on the page, CSS pixels
		Paths, Texts       int
		RenderedTextWidths float64
	}
	js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll("figure.chart")].map(f => {
		const s = f.querySelector("svg"); const r = s ? s.getBoundingClientRect() : {left: 0, top: 0, width: 0, height: 0};
		return {ID: f.id, X: r.left + window.scrollX, Y: r.top + window.scrollY, W: r.width, H: r.height, Paths: s ? s.querySelectorAll("path").length : 0,
		        Texts: s ? s.querySelectorAll("text").length : 0,
		        RenderedTextWidths: s ? [...s.querySelectorAll("text")].reduce((a, t) => a + t.getBBox().width, 0) : 0};
	}))`))
	if err != nil {
		t.Fatal(err)
	}
	var figs []fig
	if err := json.Unmarshal([]byte(js), &figs); err != nil {
		t.Fatal(err)
	}
	// One screenshot of the whole page; each figure is checked in its box.
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	page, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	keep := os.Getenv("CHATBENCH_KEEP_SCREENSHOTS") != ""
	if keep {
		_ = os.WriteFile(filepath.Join(os.TempDir(), "chatbench-page.png"), shot, 0o644)
	}
	var ids []string
	for _, f := range figs {
		ids = append(ids, f.ID)
		if f.W < 400 || f.H < 200 || f.Paths < 5 || f.Texts < 5 || f.RenderedTextWidths < 100 {
			t.Errorf("figure %s did not draw: %+v", f.ID, f)
			continue
		}
		box := image.Rect(int(f.X), int(f.Y), int(f.X+f.W), int(f.Y+f.H))
		sub, ok := page.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok || !box.In(page.Bounds()) {
			t.Errorf("figure %s at %v is outside the screenshot %v", f.ID, box, page.Bounds())
			continue
		}
		img := sub.SubImage(box)
		ink, colour := inked(img)
		if ink < 0.01 || colour < 50 {
			t.Errorf("figure %s looks blank: %.2f%% of pixels inked, %d coloured", f.ID, ink*100, colour)
		}
		if keep {
			var b bytes.Buffer
			if png.Encode(&b, img) == nil {
				_ = os.WriteFile(filepath.Join(os.TempDir(), "chatbench-"+f.ID+".png"), b.Bytes(), 0o644)
			}
		}
	}
	return ids
}

// inked returns the share of pixels that are not near-white, and how many
// are clearly coloured (plot lines, not black text or grey grid). It looks
// at every other pixel in each direction: plenty for lines 2 px wide, and
// quick under the race detector.
func inked(img image.Image) (share float64, coloured int) {
	b := img.Bounds()
	var n, all int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			all++
			if r < 235 || g < 235 || bl < 235 {
				n++
			}
			if max(r, g, bl)-min(r, g, bl) > 80 {
				coloured++
			}
		}
	}
	return float64(n) / float64(max(all, 1)), coloured
}
