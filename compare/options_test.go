package compare

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in, name, value string
		wantErr         string
	}{
		{"X-Trace: abc", "X-Trace", "abc", ""},
		{"authorization:Bearer x", "Authorization", "Bearer x", ""},
		{"X-Empty:", "X-Empty", "", ""},
		{"X-Colon: a: b", "X-Colon", "a: b", ""},
		{"Host: robot.local", "Host", "robot.local", ""},
		{"no colon", "", "", "want 'Name: value'"},
		{": value", "", "", "want 'Name: value'"},
		{"Bad Name: x", "", "", "want 'Name: value'"},
		{"X-A: b\r\nX-B: c", "", "", "line break"},
		{"Opentrons-Version: 3", "", "", "use --versions"},
		{"otcompat-explain: 0", "", "", "set by compare itself"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, value, err := ParseHeader(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || name != tt.name || value != tt.value {
				t.Errorf("got %q %q %v, want %q %q", name, value, err, tt.name, tt.value)
			}
		})
	}
}

// FuzzParseHeader: what parses is a header net/http will send as given.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"X: y", "a:b:c", ":", "X-A: \x00", "Opentrons-Version: *", "é: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, value, err := ParseHeader(s)
		if err != nil {
			return
		}
		if name != http.CanonicalHeaderKey(name) || !isToken(name) || reserved[name] != "" {
			t.Fatalf("%q: bad name %q", s, name)
		}
		if strings.ContainsAny(value, "\r\n\x00") || value != strings.TrimSpace(value) {
			t.Fatalf("%q: bad value %q", s, value)
		}
		req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		req.Header.Set(name, value)
		if req.Header.Get(name) != value {
			t.Fatalf("%q: header does not survive", s)
		}
	})
}

func TestParseVersions(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"2,3,4,5,*", []string{"2", "3", "4", "5", "*"}, false},
		{" 3 , 5 ", []string{"3", "5"}, false},
		{"3", []string{"3"}, false},
		{"abc,1337,3.5", []string{"abc", "1337", "3.5"}, false},
		{"", nil, true},
		{"3,,5", nil, true},
		{"3,3", nil, true},
		{"3 5", nil, true},
		{"3;5", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseVersions(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseVersions(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseVersions(f *testing.F) {
	for _, s := range []string{"2,3,4,5,*", "", ",", "*,*", "a.b-c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParseVersions(s)
		if err != nil {
			return
		}
		again, err := ParseVersions(strings.Join(vs, ","))
		if err != nil || !reflect.DeepEqual(again, vs) {
			t.Fatalf("%q -> %q -> %q, %v", s, vs, again, err)
		}
		for _, v := range vs {
			req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
			req.Header.Set("Opentrons-Version", v)
			if req.Header.Get("Opentrons-Version") != v || v == "" {
				t.Fatalf("%q: version %q is no header value", s, v)
			}
		}
	})
}

func TestParsePair(t *testing.T) {
	versions := []string{"2", "3", "5", "*"}
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"3,5", []string{"3", "5"}, false},
		{"5, *", []string{"5", "*"}, false},
		{"3", nil, true},
		{"3,3", nil, true},
		{"3,4", nil, true},
		{"3,5,2", nil, true},
		{",5", nil, true},
	}
	for _, tt := range tests {
		got, err := ParsePair(tt.in, versions)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePair(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckPathAndMethod(t *testing.T) {
	for _, p := range []string{"/runs", "/runs?pageLength=3", "/runs/abc", "/health", "/"} {
		if err := CheckPath(p); err != nil {
			t.Errorf("CheckPath(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "runs", "//evil.example/runs", "http://x/runs", "/runs#frag", "/a b"} {
		if err := CheckPath(p); err == nil {
			t.Errorf("CheckPath(%q): no error", p)
		}
	}
	for _, m := range []string{"GET", "HEAD"} {
		if err := CheckMethod(m); err != nil {
			t.Errorf("CheckMethod(%s): %v", m, err)
		}
	}
	for _, m := range []string{"POST", "PATCH", "DELETE", "PUT", "get", "OPTIONS", "CONNECT"} {
		if err := CheckMethod(m); err == nil || !strings.Contains(err.Error(), "never changes a robot's state") {
			t.Errorf("CheckMethod(%s) = %v, want a refusal", m, err)
		}
	}
}
