package bench

// AppReport is what one run of bench/apps measured, as it prints it (JSON)
// and as bench/run reads it.
type AppReport struct {
	URL       string                    `json:"url"`
	Apps      int                       `json:"apps"`
	Window    string                    `json:"window"`
	Scheduled int                       `json:"scheduled"` // requests the schedule held
	Requests  int                       `json:"requests"`  // requests sent
	Errors    int                       `json:"errors"`    // transport errors and non-2xx answers
	Skipped   int                       `json:"skipped"`   // current-run polls before a current run was known
	P50us     float64                   `json:"p50_us"`    // of the requests without an error
	P99us     float64                   `json:"p99_us"`
	MaxUs     float64                   `json:"max_us"`
	Statuses  map[string]map[string]int `json:"statuses"` // poll name -> status code (or "error") -> count
	FirstErr  string                    `json:"first_error,omitempty"`
}
