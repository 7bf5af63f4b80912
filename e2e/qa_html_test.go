package e2e

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"otcompat/fixtures"
)

const qaChromium = "/usr/bin/chromium"

// qaExternalRef finds what would make a page load or link to anything.
var qaExternalRef = regexp.MustCompile(`(?i)<(script|img|link|iframe|object|embed|video|audio|source|base)\b|<[a-z][^>]*\s(src|href|srcset|action)\s*=|url\(|@import`)

// qaChrome runs headless Chromium on a local page with every network path
// shut, and returns its stdout.
func qaChrome(t *testing.T, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND", // a page that needed the network would show it
		"--user-data-dir=" + t.TempDir(), "--window-size=1366,900"}
	cmd := exec.CommandContext(ctx, qaChromium, append(append(base, args...), "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestQACompareHTMLInChromium renders compare's HTML report in a real
// browser: it must draw something readable and show every version.
func TestQACompareHTMLInChromium(t *testing.T) {
	if _, err := os.Stat(qaChromium); err != nil {
		t.Skipf("%s not found: install the Debian package chromium (apt-get install -y chromium) to run this test", qaChromium)
	}
	robot := qaStart(t, "fixtures", "serve", "--log-level", "warn")
	proxy := startProxy(t, robot.flag())
	page := filepath.Join(t.TempDir(), "report.html")
	versions := []string{"2", "3", "4", "5", "*"}
	code, _, stderr := qaRun(t, "compare", "--target", proxy.base, "--direct", robot.flag(),
		"--versions", strings.Join(versions, ","), "--path", "/runs", "--path", "/runs/"+fixtures.Default().BadIDs()[0],
		"--path", "/health", "--format", "html", "--output", page)
	if code != 0 {
		t.Fatalf("compare exited %d: %s", code, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if refs := qaExternalRef.FindAllString(string(html), -1); len(refs) > 0 {
		t.Errorf("the report refers to outside resources: %q", refs)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	qaChrome(t, page, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	colours := map[[3]uint32]bool{}
	nonWhite, total := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r>>8 < 240 || g>>8 < 240 || bl>>8 < 240 {
				nonWhite++
			}
			total++
		}
	}
	if b.Dx() != 1366 || len(colours) < 16 || nonWhite*100 < total*3 {
		t.Errorf("the screenshot looks blank: %dx%d, %d colours, %d of %d pixels not white",
			b.Dx(), b.Dy(), len(colours), nonWhite, total)
	}

	dom := string(qaChrome(t, page, "--dump-dom"))
	for _, v := range versions {
		if !strings.Contains(dom, "<h3>version "+v+"</h3>") || !strings.Contains(dom, "<h3>upstream, version "+v+"</h3>") {
			t.Errorf("the rendered page does not show version %s", v)
		}
	}
	for _, want := range []string{"not seen", "BAD", "answers differ"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page does not show %q", want)
		}
	}
}
