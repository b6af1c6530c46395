package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript drives wrk; see its header for the data format and modes.
//
//go:embed wrk.lua
var wrkScript []byte

// wrk is Debian's HTTP benchmarking tool: a C event loop that costs a
// fraction of what a Go client does per request, so the server under test,
// not the generator, is what runs out of CPU on a small machine.
const wrkBinary = "wrk"

// wrkLine is one request template of a wrk run: kind is a path (GET
// without a body, POST with one) or refresh, login or register.
type wrkLine struct{ kind, token, body string }

// wrkRun describes one wrk invocation.
type wrkRun struct {
	name    string // for the files under the output directory
	base    string
	mode    string // pick, collect, rotate, unique or mix (see wrk.lua)
	lines   []wrkLine
	threads int
	conns   int
	d       time.Duration
}

// wrkOutput is what wrk.lua's done() writes.
type wrkOutput struct {
	Requests      int            `json:"requests"`
	DurationUS    int64          `json:"duration_us"`
	P50US         int64          `json:"p50_us"`
	P95US         int64          `json:"p95_us"`
	P99US         int64          `json:"p99_us"`
	MaxUS         int64          `json:"max_us"`
	ConnectErrors int            `json:"connect_errors"`
	ReadErrors    int            `json:"read_errors"`
	WriteErrors   int            `json:"write_errors"`
	Timeouts      int            `json:"timeouts"`
	Non2xx        int            `json:"non_2xx"`
	Statuses      map[string]int `json:"statuses"`
}

// ensureWrk finds wrk, installing Debian's package when it is missing and
// the benchmark runs as root (as on CI machines); otherwise it says how.
func ensureWrk() error {
	if _, err := exec.LookPath(wrkBinary); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("wrk is not installed: apt-get install wrk")
	}
	step("installing wrk (apt-get install -y wrk)")
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", wrkBinary)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err != nil {
		// A fresh machine may not have the package lists yet.
		if upd, uerr := exec.Command("apt-get", "update").CombinedOutput(); uerr != nil {
			return fmt.Errorf("apt-get update: %v\n%s", uerr, upd)
		}
		if out, err := install(); err != nil {
			return fmt.Errorf("apt-get install wrk: %v\n%s", err, out)
		}
	}
	_, err := exec.LookPath(wrkBinary)
	return err
}

// run executes wrk in dir and returns what it measured, the CPU seconds wrk
// itself used, and (for collect, rotate and mix) the token pairs or
// refresh tokens it was left holding.
func (r wrkRun) run(ctx context.Context, dir string) (measured, []string, error) {
	script := filepath.Join(dir, "wrk.lua")
	if err := os.WriteFile(script, wrkScript, 0o644); err != nil {
		return measured{}, nil, err
	}
	data := filepath.Join(dir, "wrk-"+r.name+".tsv")
	var b strings.Builder
	for _, l := range r.lines {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", l.kind, l.token, l.body)
	}
	if err := os.WriteFile(data, []byte(b.String()), 0o600); err != nil {
		return measured{}, nil, err
	}
	defer os.Remove(data)
	out := filepath.Join(dir, "wrk-"+r.name+".json")
	_ = os.Remove(out + ".tokens")
	threads := max(1, min(r.threads, r.conns))
	secs := max(1, int(r.d.Round(time.Second).Seconds()))
	cmd := exec.CommandContext(ctx, wrkBinary, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(r.conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "10s", "-s", script, r.base, "--", r.mode, data, strconv.Itoa(threads))
	cmd.Env = append(os.Environ(), "UMS_WRK_OUT="+out)
	cmd.Dir = dir
	if text, err := cmd.CombinedOutput(); err != nil {
		return measured{}, nil, fmt.Errorf("wrk: %v\n%s", err, text)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return measured{}, nil, fmt.Errorf("wrk wrote no result: %w", err)
	}
	var w wrkOutput
	if err := json.Unmarshal(raw, &w); err != nil {
		return measured{}, nil, fmt.Errorf("wrk result: %w", err)
	}
	m := w.measured()
	if st := cmd.ProcessState; st != nil {
		m.generatorCPU = (st.UserTime() + st.SystemTime()).Seconds()
	}
	var tokens []string
	if b, err := os.ReadFile(out + ".tokens"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" {
				tokens = append(tokens, line)
			}
		}
		_ = os.Remove(out + ".tokens")
	}
	return m, tokens, nil
}

// measured turns wrk's counts into the benchmark's. Without a response
// callback (mode pick) wrk counts only statuses above 399, so what is not
// an error there is counted as 200.
func (w wrkOutput) measured() measured {
	transport := w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.Timeouts
	st := map[string]int{}
	for k, v := range w.Statuses {
		st[k] = v
	}
	if len(st) == 0 {
		st["200"] = w.Requests - w.Non2xx
		if w.Non2xx > 0 {
			st["4xx/5xx"] = w.Non2xx
		}
	}
	if transport > 0 {
		st["transport_error"] = transport
	}
	errors := transport
	for k, v := range st {
		if code, err := strconv.Atoi(k); (err == nil && code >= 300) || k == "4xx/5xx" {
			errors += v
		}
	}
	elapsed := time.Duration(w.DurationUS) * time.Microsecond
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return measured{requests: w.Requests, errors: errors, statuses: st, elapsed: elapsed,
		p50: ms(w.P50US), p95: ms(w.P95US), p99: ms(w.P99US)}
}
