// Command naive is the baseline most people would write for otcompat's job:
// httputil.ReverseProxy, and for an old client's GET /runs the whole body
// decoded with encoding/json into maps, the bad runs filtered out,
// meta.totalLength and links.current fixed, and the maps encoded again.
// Everything else passes through. Its only tuning is the one line most
// people add after the first load test: more idle upstream connections than
// http.DefaultTransport's 2 per host (without it the proxy reconnects to the
// upstream on most requests and runs out of ports under load).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:31960", "host:port to serve on")
	upstream := flag.String("upstream", "http://127.0.0.1:31950", "robot-server URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	rp.Transport = t
	rp.ModifyResponse = filter
	log.Fatal(http.ListenAndServe(*listen, rp))
}

// filter removes BadRuns from GET /runs for clients older than version 5.
func filter(resp *http.Response) error {
	req := resp.Request
	if req.Method != http.MethodGet || req.URL.Path != "/runs" || resp.StatusCode != http.StatusOK {
		return nil
	}
	v := strings.TrimSpace(req.Header.Get("Opentrons-Version"))
	if n, err := strconv.Atoi(v); err != nil || n >= 5 {
		return nil // "*", new clients, and errors pass through
	}
	var list map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return err
	}
	resp.Body.Close()
	runs, _ := list["data"].([]any)
	kept := make([]any, 0, len(runs))
	bad := map[string]bool{}
	for _, r := range runs {
		run, _ := r.(map[string]any)
		_, hasDataError := run["dataError"]
		if ok, hasOK := run["ok"]; (hasOK && ok == false) || hasDataError {
			id, _ := run["id"].(string)
			bad[id] = true
			continue
		}
		kept = append(kept, r)
	}
	list["data"] = kept
	if meta, ok := list["meta"].(map[string]any); ok {
		meta["totalLength"] = len(kept)
	}
	if links, ok := list["links"].(map[string]any); ok {
		if cur, ok := links["current"].(map[string]any); ok {
			href, _ := cur["href"].(string)
			if bad[strings.TrimPrefix(href, "/runs/")] {
				delete(links, "current")
			}
		}
	}
	out, err := json.Marshal(list)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}
