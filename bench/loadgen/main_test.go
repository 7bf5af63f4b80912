package main

import "testing"

func TestHasBadRun(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"data":[{"id":"a","ok": true}]}`, false},
		{`{"data":[{"id":"a","ok": false}]}`, true},
		{`{"data":[{"id":"a","ok":false}]}`, true},
		{`{"data":[{"id":"a","ok" :` + "\n" + ` false}]}`, true},
		{`{"data":[{"id":"a","dataError":{"id":"x"}}]}`, true},
		{`{"data":{"id":"a","status":"succeeded"}}`, false},
		// Inside a string value the quotes are escaped: not a key.
		{`{"data":[{"id":"a","ok":true,"name":"\"ok\": false"}]}`, false},
		{`{"ok": falsey}`, true}, // text check: good enough for JSON, which has no such token
		{``, false},
	}
	for _, tt := range tests {
		if got := hasBadRun([]byte(tt.body)); got != tt.want {
			t.Errorf("hasBadRun(%s) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestConfigParse(t *testing.T) {
	c := config{url: "http://127.0.0.1:31960/", connections: 1, duration: 1, timeout: 1, badrunVersion: 5}
	if err := c.parse("2, 3,*", "/runs:5,/runs?pageLength=3:2"); err != nil {
		t.Fatal(err)
	}
	if c.url != "http://127.0.0.1:31960" || len(c.versions) != 3 || len(c.mix) != 2 || c.mix[1].path != "/runs?pageLength=3" || c.mix[1].weight != 2 {
		t.Errorf("parsed %+v", c)
	}
	if !c.isOld("3") || c.isOld("5") || c.isOld("*") {
		t.Error("isOld: want 3 old, 5 and * new")
	}
	for _, u := range []string{"http://192.0.2.1:31960", "http://example.com"} {
		c := config{url: u, connections: 1, duration: 1, timeout: 1}
		if err := c.parse("3", "/runs:1"); err == nil {
			t.Errorf("parse accepted non-loopback %s", u)
		}
	}
}
