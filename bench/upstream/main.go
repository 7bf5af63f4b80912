// Command upstream is the benchmark's robot-server: it serves pre-rendered
// bodies from memory, so that it costs as little as possible and the numbers
// measure the proxy in front of it. GET /runs is one of the benchmark lists
// (--list), GET /runs/{id} a run of it, GET /protocols/big/analyses a 5 MB
// JSON body, GET /health a small one. Headers are robot-server's for 2xx
// JSON:API routes (Content-Type, Content-Length, no version headers).
// It does not check Opentrons-Version: the proxy's behaviour is what is
// measured, and the fixture server (otcompat fixtures serve) has the rest.
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
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to serve on")
	list := flag.String("list", bench.List57k.Name, "run list served at GET /runs: 57k or 3.5M")
	bigBytes := flag.Int("big-bytes", bench.BigBytes, "size of the body at "+bench.BigPath)
	flag.Parse()
	sc, ok := bench.Scenarios[*list]
	if !ok {
		fmt.Fprintf(os.Stderr, "upstream: --list %q: want 57k or 3.5M\n", *list)
		os.Exit(2)
	}
	store := sc.Store()
	h := &handler{
		list: newBody(store.ListBody(-1)),
		big:  newBody(bench.BigBody(*bigBytes)),
		health: newBody([]byte(`{"name": "opentrons-dev", "api_version": "8.2.0", "fw_version": "v1.1.0", ` +
			`"system_version": "v1.3.7-2", "robot_model": "OT-2 Standard"}`)),
		runs: map[string]body{},
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
	list, big, health body
	runs              map[string]body
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b body
	switch p := r.URL.Path; {
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case p == "/runs":
		b = h.list
	case p == bench.BigPath:
		b = h.big
	case p == "/health":
		b = h.health
	case strings.HasPrefix(p, "/runs/"):
		var ok bool
		if b, ok = h.runs[p[len("/runs/"):]]; !ok {
			http.NotFound(w, r)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd["Server"] = uvicorn
	hd["Content-Type"] = jsonType
	hd["Content-Length"] = b.length
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.b)
}
