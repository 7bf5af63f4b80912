package negotiate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   Requested
	}{
		{"missing", nil, Requested{Kind: Missing}},
		{"star", []string{"*"}, Requested{Kind: Newest}},
		{"star with blanks", []string{" * "}, Requested{Kind: Newest}},
		{"app", []string{"3"}, Requested{Kind: Number, N: 3}},
		{"minimum", []string{"2"}, Requested{Kind: Number, N: 2}},
		{"below minimum", []string{"1"}, Requested{Kind: Invalid}},
		{"zero", []string{"0"}, Requested{Kind: Invalid}},
		{"negative", []string{"-3"}, Requested{Kind: Invalid}},
		{"plus sign", []string{"+3"}, Requested{Kind: Number, N: 3}},
		{"leading zeros", []string{"007"}, Requested{Kind: Number, N: 7}},
		{"underscores", []string{"1_0"}, Requested{Kind: Number, N: 10}},
		{"double underscore", []string{"1__0"}, Requested{Kind: Invalid}},
		{"trailing underscore", []string{"10_"}, Requested{Kind: Invalid}},
		{"huge", []string{"1337"}, Requested{Kind: Number, N: 1337}},
		{"overflow saturates", []string{strings.Repeat("9", 40)}, Requested{Kind: Number, N: Saturated}},
		{"word", []string{"abc"}, Requested{Kind: Invalid}},
		{"decimal", []string{"3.5"}, Requested{Kind: Invalid}},
		{"decimal zero", []string{"3.0"}, Requested{Kind: Invalid}},
		{"empty", []string{""}, Requested{Kind: Invalid}},
		{"sign only", []string{"-"}, Requested{Kind: Invalid}},
		{"first of several", []string{"3", "*"}, Requested{Kind: Number, N: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.values); got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.values, got, tt.want)
			}
		})
	}
}

func TestServed(t *testing.T) {
	five := version.Must(version.NewVersion("5"))
	tests := []struct {
		name       string
		header     []string
		chain      *version.Version
		wantServed string
		wantClient string // "" for nil
		wantOK     bool
	}{
		{"star gets the chain's newest", []string{"*"}, five, "5", "", true},
		{"app at 3 is undone to 3", []string{"3"}, five, "3", "3", true},
		{"4 is below the chain", []string{"4"}, five, "4", "4", true},
		{"5 is the newest", []string{"5"}, five, "5", "", true},
		{"above the newest is the newest", []string{"1337"}, five, "5", "", true},
		{"no chain: upstream's newest", []string{"*"}, nil, "4", "", true},
		{"no chain: 4 is newest", []string{"4"}, nil, "4", "", true},
		{"chain below upstream", []string{"*"}, version.Must(version.NewVersion("3")), "4", "", true},
		{"5 is below a chain at 5.1", []string{"5"}, version.Must(version.NewVersion("5.1")), "5", "5", true},
		{"6 is above a chain at 5.1", []string{"6"}, version.Must(version.NewVersion("5.1")), "5.1", "", true},
		{"5 is above a chain at 5.0-beta", []string{"5"}, version.Must(version.NewVersion("5.0-beta")), "5.0-beta", "", true},
		{"missing is the upstream's", nil, five, "", "", false},
		{"invalid is the upstream's", []string{"abc"}, five, "", "", false},
		{"below minimum is the upstream's", []string{"1"}, five, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNegotiator(UpstreamNewest, tt.chain)
			served, client, ok := n.Served(Parse(tt.header))
			gotClient := ""
			if client != nil {
				gotClient = client.Original()
			}
			if served != tt.wantServed || gotClient != tt.wantClient || ok != tt.wantOK {
				t.Fatalf("Served(%q) = %q, %q, %v; want %q, %q, %v", tt.header, served, gotClient, ok,
					tt.wantServed, tt.wantClient, tt.wantOK)
			}
		})
	}
}

func TestObserveRaisesUpstreamNewest(t *testing.T) {
	n := NewNegotiator(UpstreamNewest, version.Must(version.NewVersion("5")))
	for _, v := range []string{"3", "garbage", "", "4"} {
		n.Observe(v)
	}
	if got := n.Newest().Original(); got != "5" {
		t.Fatalf("after lower values, newest = %s, want 5", got)
	}
	n.Observe("7")
	if got := n.Newest().Original(); got != "7" {
		t.Fatalf("after the upstream showed 7, newest = %s, want 7", got)
	}
	if served, client, _ := n.Served(Parse([]string{"5"})); served != "5" || client == nil {
		t.Fatalf("client at 5 below newest 7: served %s, client %v; want 5 and a plan version", served, client)
	}
	n.Observe("2000000000") // however large, worked out at once
	if served, client, _ := n.Served(Parse([]string{"1999999999"})); served != "1999999999" || client == nil {
		t.Fatalf("client just below newest 2000000000: served %s, client %v", served, client)
	}
}

// TestSetChainNewest: a reloaded chain moves the newest version both ways,
// and the upstream's newest still counts.
func TestSetChainNewest(t *testing.T) {
	n := NewNegotiator(UpstreamNewest, version.Must(version.NewVersion("5")))
	for _, tc := range []struct {
		chain    *version.Version
		newest   string
		served6  string
		undoFor6 bool
	}{
		{version.Must(version.NewVersion("7")), "7", "6", true},
		{nil, "4", "4", false},
		{version.Must(version.NewVersion("5")), "5", "5", false},
	} {
		n.SetChainNewest(tc.chain)
		served, client, _ := n.Served(Parse([]string{"6"}))
		if got := n.Newest().Original(); got != tc.newest || served != tc.served6 || (client != nil) != tc.undoFor6 {
			t.Errorf("chain newest %v: newest %s, 6 served %s (client %v); want %s, %s", tc.chain, got, served, client, tc.newest, tc.served6)
		}
	}
	n.Observe("8")
	n.SetChainNewest(nil)
	if got := n.Newest().Original(); got != "8" {
		t.Errorf("after the upstream showed 8 and the chain emptied, newest %s, want 8", got)
	}
}

// FuzzParse: no panic, and every accepted number reads back the same way.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"*", "3", "1", "abc", "3.5", "", " 4 ", "+2", "1_000", "-0", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse([]string{s})
		switch r.Kind {
		case Number:
			if r.N < MinVersion {
				t.Fatalf("Parse(%q) accepted %d below the minimum", s, r.N)
			}
			if again := Parse([]string{strconv.Itoa(r.N)}); again != r {
				t.Fatalf("Parse(%q) = %+v but its canonical form reads %+v", s, r, again)
			}
			if r.Version() == nil {
				t.Fatalf("Parse(%q) has no version", s)
			}
		case Newest:
			if strings.TrimSpace(s) != "*" {
				t.Fatalf("Parse(%q) read as *", s)
			}
		}
		n := NewNegotiator(UpstreamNewest, version.Must(version.NewVersion("5")))
		if served, _, ok := n.Served(r); ok && served == "" {
			t.Fatalf("Served(%+v) accepted with no version", r)
		}
	})
}
