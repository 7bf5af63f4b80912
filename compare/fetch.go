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

// fetch asks src for path at version and reads the whole answer.
func fetch(ctx context.Context, src Source, method, path, version string, extra http.Header, explain bool) (Answer, error) {
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
	return Answer{
		Version:       version,
		Status:        resp.StatusCode,
		ServedVersion: resp.Header.Get("Opentrons-Version"),
		ExplainServed: resp.Header.Get("Otcompat-Served-Version"),
		Applied:       resp.Header.Get("Otcompat-Applied"),
		ContentType:   resp.Header.Get("Content-Type"),
		Size:          len(body),
		SHA256:        hex.EncodeToString(sum[:]),
		body:          body,
	}, nil
}
