package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"otcompat/compare"
	"otcompat/fixtures"
)

// runCmd runs `otcompat args...` in process and returns its exit status,
// what it wrote to stdout and its error.
func runCmd(t *testing.T, ctx context.Context, args ...string) (int, string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitStatus(err), out.String(), err
}

func TestCompareExitStatus(t *testing.T) {
	robot := httptest.NewServer(fixtures.NewServer(fixtures.Default()))
	defer robot.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tests := []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"same answers", []string{"--target", robot.URL, "--versions", "3,5", "--fail-on-diff", "3,5"}, 0, ""},
		{"different answers", []string{"--target", robot.URL, "--path", "/health", "--versions", "1,3", "--fail-on-diff", "1,3"}, 1, "versions 1 and 3 answer differently: /health"},
		{"differences without --fail-on-diff", []string{"--target", robot.URL, "--path", "/health", "--versions", "1,3"}, 0, ""},
		{"no answer", []string{"--target", dead.URL}, 2, "compare: no answer from " + dead.URL},
		{"no target", nil, 2, "--target is required"},
		{"target and cassette", []string{"--target", robot.URL, "--cassette", "x"}, 2, "exclude each other"},
		{"bad target", []string{"--target", "ftp://robot"}, 2, "--target: upstream"},
		{"unsafe method", []string{"--target", robot.URL, "--method", "DELETE"}, 2, "never changes a robot's state"},
		{"bad path", []string{"--target", robot.URL, "--path", "runs"}, 2, "--path: path \"runs\""},
		{"bad versions", []string{"--target", robot.URL, "--versions", "3,,5"}, 2, "--versions"},
		{"bad header", []string{"--target", robot.URL, "--header", "Opentrons-Version: 3"}, 2, "use --versions"},
		{"pair not compared", []string{"--target", robot.URL, "--versions", "3,5", "--fail-on-diff", "3,4"}, 2, "--fail-on-diff"},
		{"bad format", []string{"--target", robot.URL, "--format", "xml"}, 2, "--format \"xml\""},
		{"missing cassette", []string{"--cassette", filepath.Join(t.TempDir(), "none")}, 2, "--cassette"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, err := runCmd(t, context.Background(), append([]string{"compare"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (%v)", code, tt.code, err)
			}
			if tt.message != "" && (err == nil || !strings.Contains(err.Error(), tt.message)) {
				t.Errorf("error %v, want one containing %q", err, tt.message)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is more than one line: %q", err)
			}
		})
	}
}

func TestCompareFormats(t *testing.T) {
	robot := httptest.NewServer(fixtures.NewServer(fixtures.Default()))
	defer robot.Close()
	dir := t.TempDir()
	t.Setenv("OTCOMPAT_VERSIONS", "3,5") // flags come from the environment too
	for _, format := range []string{"text", "json", "html"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, err := runCmd(t, context.Background(), "compare", "--target", robot.URL, "--format", format)
			if code != 0 {
				t.Fatalf("exit %d: %v", code, err)
			}
			file := filepath.Join(dir, "report."+format)
			if code, _, err := runCmd(t, context.Background(), "compare", "--target", robot.URL, "--format", format, "--output", file); code != 0 {
				t.Fatalf("--output: exit %d: %v", code, err)
			}
			written, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(written, []byte(stdout)) {
				t.Error("--output differs from stdout")
			}
			if strings.Contains(stdout, "\x1b[") {
				t.Error("colour codes written to a pipe")
			}
			switch format {
			case "json":
				var rep compare.Report
				if err := json.Unmarshal(written, &rep); err != nil || rep.Schema != compare.Schema || len(rep.Versions) != 2 {
					t.Errorf("not a v1 report for 2 versions: %v", err)
				}
			case "html":
				if !strings.HasPrefix(stdout, "<!DOCTYPE html>") {
					t.Error("not an HTML page")
				}
			}
		})
	}
}

// TestCompareCassette compares a recording with no network: the proxy runs
// in process in front of a replay of it.
func TestCompareCassette(t *testing.T) {
	store := fixtures.Default()
	dir := recordFixtures(t, store, []string{"3", "5"}, "/runs")
	out := filepath.Join(t.TempDir(), "report.json")
	code, _, err := runCmd(t, context.Background(), "compare", "--cassette", dir, "--versions", "3,5", "--format", "json", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep compare.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Direct, dir) {
		t.Errorf("direct %q does not name the cassette", rep.Direct)
	}
	for _, id := range store.BadIDs() {
		if !slices.Contains(rep.Versions[0].HiddenRunIDs, id) || !slices.Contains(rep.Versions[1].BadRunIDs, id) {
			t.Errorf("bad run %s: not hidden from 3 and seen by 5", id)
		}
	}
}

// TestColourOnlyOnATerminal: never into a pipe, a file or /dev/null, and
// never when NO_COLOR is set, whatever its value.
func TestColourOnlyOnATerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	for _, w := range []io.Writer{&bytes.Buffer{}, devNull} {
		if isTerminal(w) {
			t.Errorf("%T is taken for a terminal", w)
		}
	}
	for _, v := range []string{"", "1"} {
		t.Setenv("NO_COLOR", v)
		if !noColor() {
			t.Errorf("NO_COLOR=%q not honoured", v)
		}
	}
}
