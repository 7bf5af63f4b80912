package transforms

import "testing"

// benchDeclared runs one declared change over a generated list.
func benchDeclared(b *testing.B, name string, edits ...EditSpec) {
	l := benchBody(name)
	d, err := NewDeclared(Spec{Name: "bench", Description: "bench", Version: "6", Routes: []string{"GET /runs"}, Edits: edits})
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Method: "GET", Path: "/runs", Status: 200, Body: l.body}
	if out, err := d.Downgrade(&in); err != nil || out.Body == nil {
		b.Fatalf("Downgrade: %v, changed %t", err, out.Changed())
	}
	b.SetBytes(int64(len(l.body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Downgrade(&in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeclaredMap57KB maps every run's status in the 57 KB list.
func BenchmarkDeclaredMap57KB(b *testing.B) {
	benchDeclared(b, "57KB", EditSpec{Kind: EditMap, Path: "data.#.status",
		Values: map[string]string{"succeeded": "completed", "failed": "errored", "stopped": "halted"}})
}

// BenchmarkDeclaredTwoMaps57KB is the example change: a map on the list's
// statuses and one on a single run's, which finds nothing in a list.
func BenchmarkDeclaredTwoMaps57KB(b *testing.B) {
	values := map[string]string{"succeeded": "completed", "awaiting-recovery": "paused"}
	benchDeclared(b, "57KB", EditSpec{Kind: EditMap, Path: "data.#.status", Values: values},
		EditSpec{Kind: EditMap, Path: "data.status", Values: values})
}
