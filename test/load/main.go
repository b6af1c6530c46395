// Command load is UMS's load benchmark (`make bench`). It starts the real
// `ums` binary on loopback against a fresh Postgres database (and Redis
// when REDIS_URL is set), seeds users, organizations, memberships and
// grants straight into the store, measures the ceilings that bound each
// scenario on this machine, runs bounded scenarios, and prints one table,
// also written as JSON under bench/. Nothing here is asserted: targets
// are reported as met or missed.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	mrand "math/rand/v2"

	"github.com/alexedwards/argon2id"

	"github.com/ums-project/ums/test/dbtest"
)

func main() {
	if kind := os.Getenv(envCeiling); kind != "" {
		if err := runCeilingServer(kind); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling server:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	bin        string
	out        string
	duration   time.Duration
	users      int
	threads    int
	conns      int
	loginConns int
	logLevel   string
	only       string
	profile    bool
	openRate   float64
}

// row is one line of the result table.
type row struct {
	Scenario     string         `json:"scenario"`
	Generator    string         `json:"generator"`
	Requests     int            `json:"requests"`
	RPS          float64        `json:"rps"`
	P50Ms        float64        `json:"p50_ms"`
	P95Ms        float64        `json:"p95_ms"`
	P99Ms        float64        `json:"p99_ms"`
	Errors       int            `json:"errors"`
	Statuses     map[string]int `json:"statuses"`
	ServerCPU    float64        `json:"server_cpu_cores"`
	PostgresCPU  float64        `json:"postgres_cpu_cores"`
	GeneratorCPU float64        `json:"generator_cpu_cores"`
	MachineCPU   float64        `json:"machine_cpu_cores"`
	PeakRSSMiB   float64        `json:"server_peak_rss_mib"`
	Ceiling      string         `json:"ceiling,omitempty"`
	CeilingRPS   float64        `json:"ceiling_rps,omitempty"`
	Ratio        float64        `json:"ratio,omitempty"`
	Target       string         `json:"target,omitempty"`
	Met          *bool          `json:"target_met,omitempty"`
}

// report is the JSON document written under bench/.
type report struct {
	Time     time.Time          `json:"time"`
	Machine  map[string]string  `json:"machine"`
	Config   map[string]string  `json:"config"`
	Ceilings map[string]float64 `json:"ceilings_rps"`
	Rows     []row              `json:"rows"`
}

func run() error {
	// The generator's own collections add to the latency it measures
	// (the open-loop and burst rows); it allocates little and briefly.
	debug.SetGCPercent(400)
	var o options
	flag.StringVar(&o.bin, "bin", "bin/ums", "the ums binary to benchmark (make build)")
	flag.StringVar(&o.out, "out", "bench", "directory for the JSON results and server logs")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each scenario")
	flag.IntVar(&o.users, "users", 10000, "users to seed")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.conns, "connections", 16, "wrk connections for the token scenarios and the ceilings")
	flag.IntVar(&o.loginConns, "login-connections", 4*runtime.NumCPU(), "wrk connections for login and register")
	flag.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the server (its access log is part of the cost)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run (login always runs: it makes the sessions)")
	flag.Float64Var(&o.openRate, "open-rate", 0, "rate of the open-loop /authorize row (0: half of what the closed loop reached)")
	flag.BoolVar(&o.profile, "profile", false, "serve pprof from ums (PPROF_ADDR) and save a CPU profile of each scenario under -out")
	flag.Parse()
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: build it first (make build): %w", o.bin, err)
	}
	if err := ensureWrk(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	out, _ := filepath.Abs(o.out)
	ctx := context.Background()
	params := argonParams()

	dbURL, drop, err := freshDatabase(ctx, dbtest.AdminURL())
	if err != nil {
		return err
	}
	defer drop()
	env := []string{"ENV=test", "DATABASE_URL=" + dbURL, "KEY_ENCRYPTION_KEY=" + randomKey(), "LOG_LEVEL=" + o.logLevel,
		"LOG_FORMAT=json", "RATE_LIMIT_ENABLED=false", "SHUTDOWN_TIMEOUT=10s"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ARGON2_") || strings.HasPrefix(kv, "HASH_") || strings.HasPrefix(kv, "DB_") ||
			strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	redisURL := os.Getenv("REDIS_URL")
	if redisURL != "" {
		env = append(env, "REDIS_URL="+redisURL, "REDIS_KEY_PREFIX=ums-bench-"+hex.EncodeToString(randomBytes(4))+":")
	}
	cmd := exec.Command(bin, "migrate", "up")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, b)
	}
	step("seeding %d users, %d organizations, %d memberships, %d grants", o.users, seedOrgs, 2*o.users, o.users)
	t0 := time.Now()
	data, err := seed(ctx, dbURL, o.users, params)
	if err != nil {
		return err
	}
	step("seeded in %v", time.Since(t0).Round(time.Millisecond))

	gen := fmt.Sprintf("wrk -t%d -c%d", o.threads, o.conns)
	rep := &report{Time: time.Now().UTC(), Machine: machine(), Ceilings: map[string]float64{}, Config: map[string]string{
		"argon2": fmt.Sprintf("m=%d KiB, t=%d, p=%d", params.Memory, params.Iterations, params.Parallelism),
		"store":  "postgres", "redis": strconv.FormatBool(redisURL != ""), "scenario_duration": o.duration.String(),
		"generator": gen, "login_connections": strconv.Itoa(o.loginConns), "log_level": o.logLevel,
		"users": strconv.Itoa(o.users),
	}}
	d := o.duration

	// Ceilings first, on an idle machine, driven exactly as UMS is.
	step("ceiling: argon2id on %d cores", runtime.NumCPU())
	rep.Ceilings["argon2"] = argon2Ceiling(params, 3*time.Second)
	ceilRows := map[string]row{}
	for _, kind := range []string{"trivial", "jwtdb"} {
		step("ceiling: %s", kind)
		r, err := ceiling(ctx, kind, dbURL, out, data, o)
		if err != nil {
			return err
		}
		rep.Ceilings[kind] = r.RPS
		ceilRows[kind] = r
		rep.Rows = append(rep.Rows, r)
	}

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	serveEnv := append(env, "HTTP_ADDR="+addr)
	pprofAddr := ""
	if o.profile {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		serveEnv = append(serveEnv, "PPROF_ADDR="+pprofAddr)
	}
	srv, err := start(bin, []string{"serve"}, serveEnv, addr, "/readyz", filepath.Join(out, "ums.log"))
	if err != nil {
		return err
	}
	defer srv.stop()
	b := &bench{base: srv.base, data: data, pool: &sessions{cap: 4096}, runID: hex.EncodeToString(randomBytes(3))}
	argon, jwtdb := rep.Ceilings["argon2"], rep.Ceilings["jwtdb"]
	jwtdbP99 := ceilRows["jwtdb"].P99Ms
	mixCeiling := 1 / (0.9/jwtdb + 0.1/argon)

	// measure runs one scenario and adds its row; the scenario returns what
	// it measured.
	measure := func(name, generator string, fn func() (measured, error), ceilingName string, ceilingRPS float64, target string, met func(row) bool) (row, error) {
		if !selected(o.only, name) {
			return row{}, nil
		}
		if ceilingName == "argon2" {
			// The argon2 bound moves with whatever else the (shared)
			// machine does: measured right before each hashing row, over
			// half the row's length, it is the in-run bound of that row.
			step("ceiling: argon2id, before %s", name)
			ceilingRPS = argon2Ceiling(params, max(3*time.Second, d/2))
		}
		step("scenario: %s", name)
		stopProfile := func() {}
		if pprofAddr != "" {
			stopProfile = profileCPU(pprofAddr, d, filepath.Join(out, "cpu-"+slug(name)+".pprof"))
		}
		w := watchProc(srv.pid())
		m, err := fn()
		u := w.finish(m.generatorCPU)
		stopProfile()
		if err != nil {
			return row{}, fmt.Errorf("%s: %w", name, err)
		}
		r := toRow(name, generator, m, u)
		if ceilingRPS > 0 {
			r.Ceiling, r.CeilingRPS, r.Ratio = ceilingName, ceilingRPS, r.RPS/ceilingRPS
		}
		if met != nil {
			ok := met(r)
			r.Target, r.Met = target, &ok
		}
		rep.Rows = append(rep.Rows, r)
		return r, nil
	}
	withWrk := func(name string, spec wrkRun) func() (measured, error) {
		return func() (measured, error) {
			spec.name, spec.base, spec.d = slug(name), srv.base, d
			m, tokens, err := spec.run(ctx, out)
			if err == nil {
				b.absorb(spec.mode, tokens)
			}
			return m, err
		}
	}
	loginGen := fmt.Sprintf("wrk -t%d -c%d", o.threads, o.loginConns)
	steps := []func() error{
		func() error {
			_, err := measure("login", loginGen, withWrk("login", wrkRun{mode: "collect", lines: b.loginLines(), threads: o.threads, conns: o.loginConns}),
				"argon2", argon, "≥90% of argon2", func(r row) bool { return r.Ratio >= 0.90 })
			if err == nil && b.pool.len() < 2*o.conns {
				err = fmt.Errorf("only %d sessions after the login scenario; see %s", b.pool.len(), filepath.Join(out, "ums.log"))
			}
			return err
		},
		func() error {
			_, err := measure("login, 2 connections", "wrk -t1 -c2", withWrk("login2", wrkRun{mode: "collect", lines: b.loginLines(), threads: 1, conns: 2}),
				"argon2", argon, "p99 ≤2× p50", func(r row) bool { return r.P99Ms <= 2*r.P50Ms })
			return err
		},
		func() error {
			_, err := measure("refresh", gen, withWrk("refresh", wrkRun{mode: "rotate", lines: b.refreshLines(), threads: o.threads, conns: o.conns}),
				"jwtdb", jwtdb, "≥1500/s", func(r row) bool { return r.RPS >= 1500 })
			return err
		},
		func() error {
			_, err := measure("GET /me", gen, withWrk("me", wrkRun{mode: "pick", lines: b.meLines(), threads: o.threads, conns: o.conns}),
				"jwtdb", jwtdb, fmt.Sprintf("≥90%% of jwt+db, p99 ≤%.1f", 2*jwtdbP99),
				func(r row) bool { return r.Ratio >= 0.90 && r.P99Ms <= 2*jwtdbP99 })
			return err
		},
		func() error {
			az, err := measure("POST /authorize", gen, withWrk("authorize", wrkRun{mode: "pick", lines: b.authorizeLines(), threads: o.threads, conns: o.conns}),
				"jwtdb", jwtdb, "≥80% of jwt+db, p99 ≤15", func(r row) bool { return r.Ratio >= 0.80 && r.P99Ms <= 15 })
			if err != nil || az.RPS == 0 {
				return err
			}
			half := az.RPS / 2
			if o.openRate > 0 {
				half = o.openRate
			}
			// wrk has no fixed-rate mode; a Go open loop that times each
			// request from when it was due (a stall is not hidden), on the
			// same request templates.
			azOp := linesOp(srv.base, b.authorizeLines(), []byte(`"allowed":true`))
			_, err = measure(fmt.Sprintf("POST /authorize @%.0f/s", half), "go, open loop",
				func() (measured, error) {
					// One P: with more, idle Ps spin between the paced
					// requests and the generator takes CPU from the server.
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
					return openLoop(d/2, half, 4*o.conns, azOp).measured(), nil
				},
				"jwtdb", jwtdb, "p99 <10", func(r row) bool { return r.P99Ms < 10 })
			return err
		},
		func() error {
			_, err := measure("register", loginGen, withWrk("register", wrkRun{mode: "unique", lines: b.registerLines(), threads: o.threads, conns: o.loginConns}),
				"argon2", argon, "", nil)
			return err
		},
		func() error {
			_, err := measure("mix 70/20/10", gen, withWrk("mix", wrkRun{mode: "mix", lines: b.mixLines(), threads: o.threads, conns: o.conns}),
				"mix", mixCeiling, "", nil)
			return err
		},
		func() error {
			// The storm expects the hash pool to refuse what it cannot
			// queue: 503 with Retry-After is the designed answer.
			storm := func(ctx context.Context, w int, rng *mrand.Rand) (int, bool) {
				st, ok := b.login(ctx, w, rng)
				return st, ok || st == http.StatusServiceUnavailable
			}
			_, err := measure("login storm (200 at once)", "go, burst", func() (measured, error) { return burst(200, storm).measured(), nil },
				"", 0, "p99 <1s, peak RSS <512 MiB", func(r row) bool { return r.P99Ms < 1000 && r.PeakRSSMiB < 512 })
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}

	printTable(os.Stdout, rep)
	js, _ := json.MarshalIndent(rep, "", "  ")
	file := filepath.Join(o.out, "bench-"+rep.Time.Format("20060102-150405")+".json")
	if err := os.WriteFile(file, js, 0o644); err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(o.out, "latest.json"), js, 0o644)
	var md strings.Builder
	printMarkdown(&md, rep)
	_ = os.WriteFile(filepath.Join(o.out, "latest.md"), []byte(md.String()), 0o644)
	fmt.Printf("\nwritten %s\n", file)
	return nil
}

// ceiling starts a ceiling server (this binary in ceiling mode) and drives
// it with the same generator, connections and duration as UMS's token
// scenarios.
func ceiling(ctx context.Context, kind, dbURL, out string, data *seeded, o options) (row, error) {
	self, err := os.Executable()
	if err != nil {
		return row{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return row{}, err
	}
	seedHex := hex.EncodeToString(randomBytes(ed25519.SeedSize))
	p, err := start(self, nil, []string{envCeiling + "=" + kind, envAddr + "=" + addr, envDB + "=" + dbURL, envKey + "=" + seedHex},
		addr, "/ready", filepath.Join(out, "ceiling-"+kind+".log"))
	if err != nil {
		return row{}, err
	}
	defer p.stop()
	var lines []wrkLine
	switch kind {
	case "trivial":
		lines = []wrkLine{{kind: "/ping"}}
	case "jwtdb":
		for i := range 256 {
			tok, err := ceilingToken(seedHex, data.users[i*len(data.users)/256].id)
			if err != nil {
				return row{}, err
			}
			lines = append(lines, wrkLine{kind: "/me", token: tok})
		}
	}
	w := watchProc(p.pid())
	m, _, err := wrkRun{name: "ceiling-" + kind, base: p.base, mode: "pick", lines: lines, threads: o.threads, conns: o.conns, d: o.duration}.run(ctx, out)
	u := w.finish(m.generatorCPU)
	if err != nil {
		return row{}, err
	}
	name := map[string]string{"trivial": "ceiling: Echo, trivial handler", "jwtdb": "ceiling: Echo, verify JWT + read row"}[kind]
	return toRow(name, fmt.Sprintf("wrk -t%d -c%d", o.threads, o.conns), m, u), nil
}

// selected reports whether scenario name is in the -only list (all when
// the list is empty); login always runs.
func selected(only, name string) bool {
	if only == "" || name == "login" {
		return true
	}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" && strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func slug(name string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(name)), "-")
}

// profileCPU records a CPU profile of the server for about d into file;
// the returned function waits for it.
func profileCPU(addr string, d time.Duration, file string) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds())-1)))
		if err != nil {
			step("profile: %v", err)
			return
		}
		defer res.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, res.Body)
	}()
	return func() { <-done }
}

func toRow(name, generator string, m measured, u usage) row {
	return row{Scenario: name, Generator: generator, Requests: m.requests, RPS: m.rps(), P50Ms: m.p50, P95Ms: m.p95, P99Ms: m.p99,
		Errors: m.errors, Statuses: m.statuses, ServerCPU: u.server, PostgresCPU: u.postgres, GeneratorCPU: u.generator,
		MachineCPU: u.machine, PeakRSSMiB: float64(u.peakRSS) / (1 << 20)}
}

// verdict is the row's ceiling, its ratio to it and its target with ✓ or
// ✗, as printed.
func (r row) verdict() (ceil, ratio, target string) {
	if r.CeilingRPS > 0 {
		ceil, ratio = fmt.Sprintf("%s %.0f", r.Ceiling, r.CeilingRPS), fmt.Sprintf("%.0f%%", 100*r.Ratio)
	}
	target = r.Target
	if r.Met != nil {
		target += map[bool]string{true: " ✓", false: " ✗"}[*r.Met]
	}
	return ceil, ratio, target
}

func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\nUMS load benchmark — %s; argon2id %s; ceilings: argon2 %.0f hashes/s, Echo trivial %.0f rps, jwt+db %.0f rps\n\n",
		rep.Machine["cpu"], rep.Config["argon2"], rep.Ceilings["argon2"], rep.Ceilings["trivial"], rep.Ceilings["jwtdb"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "scenario\t generator\t rps\t p50 ms\t p95 ms\t p99 ms\t errors\t CPU server\t postgres\t generator\t machine\t peak RSS MiB\t ceiling\t ratio\t target\t")
	for _, r := range rep.Rows {
		ceil, ratio, target := r.verdict()
		fmt.Fprintf(tw, "%s\t %s\t %.0f\t %.1f\t %.1f\t %.1f\t %d\t %.2f\t %.2f\t %.2f\t %.2f\t %.0f\t %s\t %s\t %s\t\n", r.Scenario, r.Generator,
			r.RPS, r.P50Ms, r.P95Ms, r.P99Ms, r.Errors, r.ServerCPU, r.PostgresCPU, r.GeneratorCPU, r.MachineCPU, r.PeakRSSMiB, ceil, ratio, target)
	}
	_ = tw.Flush()
}

// printMarkdown writes the table as the README shows it.
func printMarkdown(w io.Writer, rep *report) {
	fmt.Fprintln(w, "| scenario | generator | rps | p50 ms | p95 ms | p99 ms | errors | server CPU | Postgres CPU | generator CPU | machine CPU | peak RSS MiB | ceiling | ratio | target |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
	for _, r := range rep.Rows {
		errs := strconv.Itoa(r.Errors)
		if n := r.Statuses["503"]; n > 0 {
			errs = fmt.Sprintf("%d × 503", n)
		}
		ceil, ratio, target := r.verdict()
		fmt.Fprintf(w, "| %s | %s | %.0f | %.1f | %.1f | %.1f | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %s | %s | %s |\n", r.Scenario, r.Generator,
			r.RPS, r.P50Ms, r.P95Ms, r.P99Ms, errs, r.ServerCPU, r.PostgresCPU, r.GeneratorCPU, r.MachineCPU, r.PeakRSSMiB, ceil, ratio, target)
	}
}

// argonParams are the server's argon2id parameters: ARGON2_* from the
// environment or UMS's defaults (the OWASP profile).
func argonParams() *argon2id.Params {
	num := func(name string, def uint64) uint64 {
		if v, err := strconv.ParseUint(os.Getenv(name), 10, 32); err == nil {
			return v
		}
		return def
	}
	return &argon2id.Params{Memory: uint32(num("ARGON2_MEMORY_KIB", 19456)), Iterations: uint32(num("ARGON2_ITERATIONS", 2)),
		Parallelism: uint8(num("ARGON2_PARALLELISM", 1)), SaltLength: 16, KeyLength: 32}
}

func machine() map[string]string {
	m := map[string]string{"cores": strconv.Itoa(runtime.NumCPU()), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v) + " × " + m["cores"]
				break
			}
		}
	}
	if m["cpu"] == "" {
		m["cpu"] = m["cores"] + " cores"
	}
	return m
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
