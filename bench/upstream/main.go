// Command upstream is the benchmark's robot-server. The routes the load rows
// hammer are served from bodies rendered once, so that the upstream costs as
// little as possible and the numbers measure the proxy in front of it:
// GET /runs without a query is one of the benchmark lists (--list),
// GET /runs/{id} a run of it, GET /protocols/big/analyses a 5 MB JSON body,
// with robot-server's headers for 2xx JSON:API routes (Content-Type,
// Content-Length, no version headers); these do not check Opentrons-Version.
// Every other request (GET /runs?pageLength=0, /runs/{id}/commands, /health,
// ...) goes to the fixture robot-server (fixtures.NewServer) on the same run
// store, which answers it as robot-server does, version checks included.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"otcompat/bench"
	"otcompat/fixtures"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to serve on")
	list := flag.String("list", bench.List57k.Name, "run list served at GET /runs: 57k, 3.5M or app")
	bigBytes := flag.Int("big-bytes", bench.BigBytes, "size of the body at "+bench.BigPath)
	flag.Parse()
	sc, ok := bench.Scenarios[*list]
	if !ok {
		fmt.Fprintf(os.Stderr, "upstream: --list %q: want 57k, 3.5M or app\n", *list)
		os.Exit(2)
	}
	store := sc.Store()
	h := &handler{
		list: newBody(store.ListBody(-1)),
		big:  newBody(bench.BigBody(*bigBytes)),
		runs: map[string]body{},
		rest: fixtures.NewServer(store),
	}
	for _, id := range store.IDs() {
		raw, _ := store.Get(id)
		h.runs[id] = newBody(append(append([]byte(`{"data": `), raw...), '}'))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("upstream %s: GET /runs is %d bytes, %s is %d bytes\n", ln.Addr(), len(h.list.b), bench.BigPath, len(h.big.b))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// body is a response body with its header values, made once.
type body struct {
	b      []byte
	length []string
}

func newBody(b []byte) body { return body{b, []string{strconv.Itoa(len(b))}} }

var (
	jsonType = []string{"application/json"}
	uvicorn  = []string{"uvicorn"}
)

type handler struct {
	list, big body
	runs      map[string]body
	rest      http.Handler // the fixture robot-server, for everything else
}

// rendered is the body rendered once for r, if r is one of the hot routes
// (GET without a query, as the load rows send it).
func (h *handler) rendered(r *http.Request) (body, bool) {
	if r.Method != http.MethodGet || r.URL.RawQuery != "" {
		return body{}, false
	}
	switch p := r.URL.Path; {
	case p == "/runs":
		return h.list, true
	case p == bench.BigPath:
		return h.big, true
	case strings.HasPrefix(p, "/runs/"):
		b, ok := h.runs[p[len("/runs/"):]]
		return b, ok
	}
	return body{}, false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := h.rendered(r)
	if !ok {
		h.rest.ServeHTTP(w, r)
		return
	}
	hd := w.Header()
	hd["Server"] = uvicorn
	hd["Content-Type"] = jsonType
	hd["Content-Length"] = b.length
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.b)
}
