package compare

import (
	"encoding/json"
	"io"
)

// WriteJSON renders the report in its documented schema, indented, with
// < > & left as they are so unified diffs stay readable.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
