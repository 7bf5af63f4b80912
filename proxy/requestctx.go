package proxy

import (
	"context"
	"sync"
)

// requestCtx is the context of a request the front lane serves: what
// context.WithCancel gives, plus an AfterFunc method (which context.AfterFunc
// also uses to tie contexts derived from it). The direct path registers a
// function per request, to unblock its upstream connection if the client
// leaves; context.AfterFunc on a cancelCtx cost an afterFuncCtx, a map of
// children, a done channel and their locking, a few microseconds a request.
type requestCtx struct {
	context.Context // the parent, for Value and Deadline
	mu              sync.Mutex
	done            chan struct{} // made by the first Done
	err             error
	after           []afterEntry
	afterArray      [2]afterEntry // after's first home
	lastID          int
}

type afterEntry struct {
	id int
	f  func()
}

func newRequestCtx(parent context.Context) *requestCtx {
	c := &requestCtx{Context: parent}
	c.after = c.afterArray[:0]
	return c
}

func (c *requestCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *requestCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// cancel ends the context, starting each registered function in its own
// goroutine, as context.AfterFunc does.
func (c *requestCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for _, e := range after {
		go e.f()
	}
}

// AfterFunc is context.AfterFunc for this context.
func (c *requestCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	c.lastID++
	id := c.lastID
	c.after = append(c.after, afterEntry{id, f})
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, e := range c.after {
			if e.id == id {
				c.after = append(c.after[:i], c.after[i+1:]...)
				return true
			}
		}
		return false
	}
}

// afterFunc is context.AfterFunc, done by the context itself when it can.
func afterFunc(ctx context.Context, f func()) (stop func() bool) {
	if a, ok := ctx.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(ctx, f)
}
