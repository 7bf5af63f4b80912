package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// errorDetail is one entry of robot-server's error envelope; null fields are
// omitted, as robot-server does.
type errorDetail struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	ErrorCode string `json:"errorCode"`
}

// writeError answers with robot-server's compact error envelope, so existing
// clients can show the proxy's own errors the way they show the server's.
func writeError(w http.ResponseWriter, status int, id, title, detail string) {
	body, _ := json.Marshal(struct {
		Errors []errorDetail `json:"errors"`
	}{[]errorDetail{{ID: id, Title: title, Detail: detail, ErrorCode: "4000"}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeUpstreamUnavailable(w http.ResponseWriter, status int, cause string) {
	writeError(w, status, "UpstreamUnavailable", "Robot Server Unavailable", cause)
}
