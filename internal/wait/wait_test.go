package wait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestForSeesALaterChange(t *testing.T) {
	var done atomic.Bool
	time.AfterFunc(20*time.Millisecond, func() { done.Store(true) })
	For(t, "the timer", done.Load)
	if !done.Load() {
		t.Fatal("For returned before the condition held")
	}
}
