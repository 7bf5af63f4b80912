package transforms

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/tidwall/gjson"
)

// listReaders are the two readers measured side by side.
var listReaders = []struct {
	name string
	read func([]byte, *editor) (runList, bodyShape)
}{
	{"jsonscan", readRunList},
	{"gjson", readRunListGJSON},
}

// FuzzListReadersAgree: both readers read every body the same way, except
// that gjson rejects Python's NaN and Infinity literals.
func FuzzListReadersAgree(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add(b) })
	for _, tc := range runCases {
		f.Add([]byte(`{"data": [` + tc.run + `]}`))
		f.Add([]byte(`{"data": ` + tc.run + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var e1, e2 editor
		l1, s1 := readRunList(body, &e1)
		l2, s2 := readRunListGJSON(body, &e2)
		if s1 != s2 {
			if s2 == notRunBody && (bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("Infinity"))) {
				return
			}
			t.Fatalf("shape: jsonscan %d, gjson %d for %.300q", s1, s2, body)
		}
		if s1 == notRunBody {
			return
		}
		norm := func(l *runList) {
			for i, id := range l.ids {
				if len(id) == 0 {
					l.ids[i] = nil
				}
			}
			if len(l.currentID) == 0 {
				l.currentID = nil
			}
		}
		norm(&l1)
		norm(&l2)
		if !reflect.DeepEqual(l1, l2) || !reflect.DeepEqual(e1, e2) {
			t.Fatalf("the readers disagree on %.300q:\n jsonscan %+v %+v\n gjson    %+v %+v", body, l1, e1, l2, e2)
		}
	})
}

// BenchmarkListReaders57KB runs the BadRun change on the 57 KB list with
// each reader, one after the other in each round.
func BenchmarkListReaders57KB(b *testing.B) {
	for _, r := range listReaders {
		b.Run(r.name, func(b *testing.B) {
			readRunBody = r.read
			defer func() { readRunBody = readRunList }()
			benchBadRun(b, "57KB")
		})
	}
}

// BenchmarkGJSONFloor57KB is the least any gjson-based list reader does on
// the 57 KB list: validate, then place each element of "data" (no run is
// read, no edit is made).
func BenchmarkGJSONFloor57KB(b *testing.B) {
	body := benchBody("57KB").body
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !gjson.ValidBytes(body) {
			b.Fatal("invalid")
		}
		n := 0
		gjson.Get(string(body), "data").ForEach(func(_, run gjson.Result) bool {
			n += run.Index
			return true
		})
		if n == 0 {
			b.Fatal("no runs placed")
		}
	}
}
