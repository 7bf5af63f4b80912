package proxy

import "testing"

func TestRouteClass(t *testing.T) {
	tests := map[string]string{
		"/runs":                 "/runs",
		"/runs/":                "/runs",
		"/runs/abc":             "/runs/{id}",
		"/runs/abc/":            "/runs/{id}",
		"/runs/abc/commands":    "/runs/{id}/commands",
		"/runs/abc/commands/":   "/runs/{id}/commands/…",
		"/runs/abc/commands/x1": "/runs/{id}/commands/…",
		"/health":               "/health",
		"/":                     "other",
		"":                      "other",
		"/wp-admin/x":           "other",
	}
	for path, want := range tests {
		if got := routeClass(path); got != want {
			t.Errorf("routeClass(%q) = %q, want %q", path, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { routeClass("/runs/abc") }); n != 0 {
		t.Errorf("routeClass allocates %v times per call on a common path, want 0", n)
	}
}
