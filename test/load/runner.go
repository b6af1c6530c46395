package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client is the load generator's HTTP client: keep-alive connections, one
// per worker, nothing shared between requests but the pool.
var client = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true,
	},
}

// call sends one request and returns the status and body.
func call(ctx context.Context, method, url, token string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// linesOp sends a random one of lines (wrk's request templates, so both
// generators ask the same) and expects a 200 whose body contains want. It
// allocates little per request: the bodies are made once and the answer
// is read into a buffer of the worker's.
func linesOp(base string, lines []wrkLine, want []byte) op {
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	return func(ctx context.Context, _ int, rng *rand.Rand) (int, bool) {
		l := lines[rng.IntN(len(lines))]
		method := http.MethodGet
		var body io.Reader
		if l.body != "" {
			method, body = http.MethodPost, strings.NewReader(l.body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+l.kind, body)
		if err != nil {
			return 0, false
		}
		if l.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+l.token)
		res, err := client.Do(req)
		if err != nil {
			return 0, false
		}
		defer res.Body.Close()
		buf := bufs.Get().(*bytes.Buffer)
		defer bufs.Put(buf)
		buf.Reset()
		if _, err := buf.ReadFrom(res.Body); err != nil {
			return res.StatusCode, false
		}
		return res.StatusCode, res.StatusCode == http.StatusOK && bytes.Contains(buf.Bytes(), want)
	}
}

// op is one request of a scenario: it reports the status it got and
// whether that was the expected outcome.
type op func(ctx context.Context, worker int, rng *rand.Rand) (status int, ok bool)

// tally is what a scenario run measured.
type tally struct {
	requests  int
	errors    int
	statuses  map[int]int
	latencies []time.Duration
	elapsed   time.Duration
}

// percentile returns the p-th percentile latency (0 < p <= 100).
func (t *tally) percentile(p float64) time.Duration {
	if len(t.latencies) == 0 {
		return 0
	}
	i := int(float64(len(t.latencies))*p/100+0.5) - 1
	return t.latencies[min(max(i, 0), len(t.latencies)-1)]
}

func (t *tally) merge(o *tally) {
	t.requests += o.requests
	t.errors += o.errors
	t.latencies = append(t.latencies, o.latencies...)
	for s, n := range o.statuses {
		t.statuses[s] += n
	}
}

func newTally() *tally { return &tally{statuses: map[int]int{}} }

// measured is one scenario's outcome, from wrk or from a Go generator.
type measured struct {
	requests, errors int
	statuses         map[string]int
	elapsed          time.Duration
	p50, p95, p99    float64 // milliseconds
	generatorCPU     float64 // seconds used by an external generator
}

func (m measured) rps() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.requests) / m.elapsed.Seconds()
}

func (t *tally) measured() measured {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	st := map[string]int{}
	for s, n := range t.statuses {
		key := strconv.Itoa(s)
		if s == 0 {
			key = "transport_error"
		}
		st[key] = n
	}
	return measured{requests: t.requests, errors: t.errors, statuses: st, elapsed: t.elapsed,
		p50: ms(t.percentile(50)), p95: ms(t.percentile(95)), p99: ms(t.percentile(99))}
}

// openLoop sends requests at a fixed rate for d, whatever the answers'
// speed, with up to workers in flight; latency counts from the moment a
// request was due, so a stall is not hidden (no coordinated omission).
func openLoop(d time.Duration, rate float64, workers int, fn op) *tally {
	due := make(chan time.Time, workers*4)
	parts := make([]*tally, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		parts[w] = newTally()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			t := parts[w]
			for at := range due {
				status, ok := fn(context.Background(), w, rng)
				t.latencies = append(t.latencies, time.Since(at))
				t.requests++
				t.statuses[status]++
				if !ok {
					t.errors++
				}
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / rate)
	for next := start; time.Since(start) < d; next = next.Add(interval) {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		due <- next
	}
	close(due)
	wg.Wait()
	return finish(parts, time.Since(start))
}

// burst sends n requests at once and waits for every answer.
func burst(n int, fn op) *tally {
	parts := make([]*tally, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for w := range n {
		parts[w] = newTally()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			<-gate
			t0 := time.Now()
			status, ok := fn(context.Background(), w, rng)
			t := parts[w]
			t.latencies = append(t.latencies, time.Since(t0))
			t.requests++
			t.statuses[status]++
			if !ok {
				t.errors++
			}
		}()
	}
	close(gate)
	wg.Wait()
	return finish(parts, time.Since(start))
}

func finish(parts []*tally, elapsed time.Duration) *tally {
	t := newTally()
	for _, p := range parts {
		t.merge(p)
	}
	t.elapsed = elapsed
	slices.Sort(t.latencies)
	return t
}
