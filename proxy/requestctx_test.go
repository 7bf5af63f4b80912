package proxy

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"otcompat/internal/wait"
)

func TestRequestCtx(t *testing.T) {
	t.Run("cancel runs what is registered, once", func(t *testing.T) {
		ctx := newRequestCtx(context.Background())
		var runs atomic.Int32
		afterFunc(ctx, func() { runs.Add(1) })
		afterFunc(ctx, func() { runs.Add(10) })
		if ctx.Err() != nil {
			t.Fatal("Err before cancel")
		}
		ctx.cancel()
		ctx.cancel()
		wait.For(t, "both functions", func() bool { return runs.Load() == 11 })
		if ctx.Err() != context.Canceled {
			t.Fatalf("Err = %v", ctx.Err())
		}
	})
	t.Run("stop before cancel prevents the call", func(t *testing.T) {
		ctx := newRequestCtx(context.Background())
		var runs atomic.Int32
		stop := afterFunc(ctx, func() { runs.Add(1) })
		keep := afterFunc(ctx, func() { runs.Add(10) })
		if !stop.stop() || stop.stop() {
			t.Fatal("stop: want true, then false")
		}
		ctx.cancel()
		wait.For(t, "the kept function", func() bool { return runs.Load() == 10 })
		if keep.stop() {
			t.Fatal("stop after the call reported it prevented")
		}
	})
	t.Run("other contexts go to context.AfterFunc", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var runs atomic.Int32
		stop := afterFunc(ctx, func() { runs.Add(1) })
		afterFunc(ctx, func() { runs.Add(10) })
		if !stop.stop() {
			t.Fatal("stop before cancel: want true")
		}
		cancel()
		wait.For(t, "the kept function", func() bool { return runs.Load() == 10 })
	})
	t.Run("registering after cancel runs at once", func(t *testing.T) {
		ctx := newRequestCtx(context.Background())
		ctx.cancel()
		var ran atomic.Bool
		if afterFunc(ctx, func() { ran.Store(true) }).stop() {
			t.Fatal("stop prevented a call on a done context")
		}
		wait.For(t, "the late function", ran.Load)
	})
	t.Run("Done before and after cancel", func(t *testing.T) {
		ctx := newRequestCtx(context.Background())
		early := ctx.Done()
		select {
		case <-early:
			t.Fatal("Done closed before cancel")
		default:
		}
		ctx.cancel()
		<-early
		<-ctx.Done()
	})
	t.Run("derived contexts end with it; values pass", func(t *testing.T) {
		type otherKey struct{}
		ctx := newRequestCtx(context.WithValue(context.Background(), otherKey{}, "parent's"))
		child, stop := context.WithTimeout(ctx, time.Hour)
		defer stop()
		if ex := exchangeFrom(child); ex == nil || ex != exchangeFrom(ctx) {
			t.Fatal("the context's exchange is not reachable from a derived context")
		}
		if v, _ := child.Value(otherKey{}).(string); v != "parent's" {
			t.Fatalf("the parent's value is %q from a derived context", v)
		}
		ctx.cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a derived context outlived the request's")
		}
	})
}
