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
// It also holds the request's exchange, which is one allocation rather than
// three (the exchange, a value context and this).
type requestCtx struct {
	context.Context // the parent, for Value and Deadline
	ex              exchange
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

// Value answers exchangeFrom with the context's own exchange.
func (c *requestCtx) Value(key any) any {
	if key == (exchangeKey{}) {
		return &c.ex
	}
	return c.Context.Value(key)
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

// AfterFunc is context.AfterFunc for this context (the context package
// calls it for contexts derived from this one).
func (c *requestCtx) AfterFunc(f func()) (stop func() bool) {
	id := c.register(f)
	return func() bool { return c.unregister(id) }
}

// register runs f when the context ends (now, if it has) and returns the id
// unregister takes: 0 when f already started.
func (c *requestCtx) register(f func()) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return 0
	}
	c.lastID++
	c.after = append(c.after, afterEntry{c.lastID, f})
	return c.lastID
}

// unregister stops a registered function, reporting whether it had not run.
func (c *requestCtx) unregister(id int) bool {
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

// afterStop undoes an afterFunc, as the function context.AfterFunc returns
// does. It is a value, so that the front lane's one registration a request
// allocates no closure.
type afterStop struct {
	c   *requestCtx
	id  int
	std func() bool // context.AfterFunc's, for any other context
}

func (s afterStop) stop() bool {
	if s.c != nil {
		return s.c.unregister(s.id)
	}
	return s.std()
}

// afterFunc is context.AfterFunc, done by the context itself when it can.
func afterFunc(ctx context.Context, f func()) afterStop {
	if c, ok := ctx.(*requestCtx); ok {
		return afterStop{c: c, id: c.register(f)}
	}
	return afterStop{std: context.AfterFunc(ctx, f)}
}
