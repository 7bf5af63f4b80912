package compare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ConnError is a failure to get an answer at all (as opposed to an answer
// with an error status, which is something to compare).
type ConnError struct {
	Source, Method, Path string
	Err                  error
}

func (e *ConnError) Error() string {
	err := e.Err
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is said already
	}
	return fmt.Sprintf("%s: %s %s: %v", e.Source, e.Method, e.Path, err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// fetch asks src for path as col and reads the whole answer.
func fetch(ctx context.Context, src Source, method, path string, col column, extra http.Header, explain bool) (Answer, error) {
	version := col.version
	req, err := http.NewRequestWithContext(ctx, method, src.URL+path, nil)
	if err != nil {
		return Answer{}, &ConnError{src.Name, method, path, err}
	}
	for name, vs := range extra {
		if name == "Host" {
			req.Host = vs[len(vs)-1]
			continue
		}
		req.Header[name] = append([]string(nil), vs...)
	}
	req.Header.Set("Opentrons-Version", version)
	if col.setUA {
		// An empty value makes net/http send no User-Agent at all.
		req.Header.Set("User-Agent", col.userAgent)
	}
	if explain {
		req.Header.Set("Otcompat-Explain", "1")
	}
	resp, err := src.Client.Do(req)
	if err != nil {
		return Answer{}, &ConnError{src.Name, method, path, err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, &ConnError{src.Name, method, path, fmt.Errorf("reading the body: %w", err)}
	}
	sum := sha256.Sum256(body)
	a := Answer{
		Version:       version,
		Client:        col.client,
		Status:        resp.StatusCode,
		ServedVersion: resp.Header.Get("Opentrons-Version"),
		ExplainServed: resp.Header.Get("Otcompat-Served-Version"),
		Applied:       resp.Header.Get("Otcompat-Applied"),
		Rule:          resp.Header.Get("Otcompat-Client-Rule"),
		ContentType:   resp.Header.Get("Content-Type"),
		Size:          len(body),
		SHA256:        hex.EncodeToString(sum[:]),
		body:          body,
	}
	if col.setUA {
		a.UserAgent = col.userAgent
	}
	return a, nil
}
