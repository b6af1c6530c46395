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
	bin          string
	out          string
	duration     time.Duration
	users        int
	workers      int
	loginWorkers int
	logLevel     string
	only         string
	profile      bool
}

// row is one line of the result table.
type row struct {
	Scenario   string         `json:"scenario"`
	Requests   int            `json:"requests"`
	RPS        float64        `json:"rps"`
	P50Ms      float64        `json:"p50_ms"`
	P95Ms      float64        `json:"p95_ms"`
	P99Ms      float64        `json:"p99_ms"`
	Errors     int            `json:"errors"`
	Statuses   map[string]int `json:"statuses"`
	ServerCPU  float64        `json:"server_cpu_cores"`
	DBCPU      float64        `json:"machine_cpu_cores"`
	PeakRSSMiB float64        `json:"server_peak_rss_mib"`
	Ceiling    string         `json:"ceiling,omitempty"`
	CeilingRPS float64        `json:"ceiling_rps,omitempty"`
	Ratio      float64        `json:"ratio,omitempty"`
	Target     string         `json:"target,omitempty"`
	Met        *bool          `json:"target_met,omitempty"`
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
	var o options
	flag.StringVar(&o.bin, "bin", "bin/ums", "the ums binary to benchmark (make build)")
	flag.StringVar(&o.out, "out", "bench", "directory for the JSON results and server logs")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each scenario")
	flag.IntVar(&o.users, "users", 10000, "users to seed")
	flag.IntVar(&o.workers, "workers", 16, "concurrent clients for the token scenarios")
	flag.IntVar(&o.loginWorkers, "login-workers", 4*runtime.NumCPU(), "concurrent clients for login and register")
	flag.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the server (its access log is part of the cost)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run (login always runs: it makes the sessions)")
	flag.BoolVar(&o.profile, "profile", false, "serve pprof from ums (PPROF_ADDR) and save a CPU profile of each scenario under -out")
	flag.Parse()
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: build it first (make build): %w", o.bin, err)
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
		if strings.HasPrefix(kv, "ARGON2_") || strings.HasPrefix(kv, "HASH_") || strings.HasPrefix(kv, "DB_") {
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

	rep := &report{Time: time.Now().UTC(), Machine: machine(), Ceilings: map[string]float64{}, Config: map[string]string{
		"argon2": fmt.Sprintf("m=%d KiB, t=%d, p=%d", params.Memory, params.Iterations, params.Parallelism),
		"store":  "postgres", "redis": strconv.FormatBool(redisURL != ""), "scenario_duration": o.duration.String(),
		"workers": strconv.Itoa(o.workers), "login_workers": strconv.Itoa(o.loginWorkers), "log_level": o.logLevel,
		"users": strconv.Itoa(o.users),
	}}

	// Ceilings first, on an idle machine.
	step("ceiling: argon2id on %d cores", runtime.NumCPU())
	rep.Ceilings["argon2"] = argon2Ceiling(params, 3*time.Second)
	for _, kind := range []string{"trivial", "jwtdb"} {
		step("ceiling: %s", kind)
		r, err := ceiling(kind, dbURL, out, data, o)
		if err != nil {
			return err
		}
		rep.Ceilings[kind] = r.RPS
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
	mixCeiling := 1 / (0.9/jwtdb + 0.1/argon)
	d := o.duration

	scenario := func(name string, measure func() *tally, ceilingName string, ceilingRPS float64, target string, met func(row) bool) row {
		if !selected(o.only, name) {
			return row{}
		}
		step("scenario: %s", name)
		stopProfile := func() {}
		if pprofAddr != "" {
			stopProfile = profileCPU(pprofAddr, d, filepath.Join(out, "cpu-"+slug(name)+".pprof"))
		}
		w := watchProc(srv.pid())
		t := measure()
		cpu, dbCPU, peak := w.finish()
		stopProfile()
		r := toRow(name, t, cpu, dbCPU, peak)
		if ceilingRPS > 0 {
			r.Ceiling, r.CeilingRPS, r.Ratio = ceilingName, ceilingRPS, r.RPS/ceilingRPS
		}
		if met != nil {
			ok := met(r)
			r.Target, r.Met = target, &ok
		}
		rep.Rows = append(rep.Rows, r)
		return r
	}

	scenario("login", func() *tally { return closedLoop(d, o.loginWorkers, b.login) }, "argon2", argon,
		"≥95% of argon2", func(r row) bool { return r.Ratio >= 0.95 })
	if b.pool.len() < o.workers {
		return fmt.Errorf("only %d sessions after the login scenario; see %s", b.pool.len(), filepath.Join(out, "ums.log"))
	}
	scenario("refresh", func() *tally { return closedLoop(d, o.workers, b.refresh) }, "jwtdb", jwtdb,
		"≥2000/s", func(r row) bool { return r.RPS >= 2000 })
	scenario("GET /me", func() *tally { return closedLoop(d, o.workers, b.me) }, "jwtdb", jwtdb,
		"≥90% of jwt+db", func(r row) bool { return r.Ratio >= 0.90 })
	az := scenario("POST /authorize", func() *tally { return closedLoop(d, o.workers, b.authorize) }, "jwtdb", jwtdb,
		"≥90% of jwt+db", func(r row) bool { return r.Ratio >= 0.90 })
	if half := az.RPS / 2; half > 0 {
		scenario(fmt.Sprintf("POST /authorize @%.0f/s", half), func() *tally { return openLoop(d/2, half, 4*o.workers, b.authorize) },
			"jwtdb", jwtdb, "p99 <10ms", func(r row) bool { return r.P99Ms < 10 })
	}
	scenario("register", func() *tally { return closedLoop(d, o.loginWorkers, b.register) }, "argon2", argon, "", nil)
	scenario("mix 70/20/10", func() *tally { return closedLoop(d, o.workers, b.mix) }, "mix", mixCeiling, "", nil)
	// The storm expects the hash pool to refuse what it cannot queue: 503
	// with Retry-After is the designed answer, not an error.
	storm := func(ctx context.Context, w int, rng *mrand.Rand) (int, bool) {
		st, ok := b.login(ctx, w, rng)
		return st, ok || st == http.StatusServiceUnavailable
	}
	scenario("login storm (200 at once)", func() *tally { return burst(200, storm) }, "", 0,
		"peak RSS <512 MiB", func(r row) bool { return r.PeakRSSMiB < 512 })

	printTable(os.Stdout, rep)
	js, _ := json.MarshalIndent(rep, "", "  ")
	file := filepath.Join(o.out, "bench-"+rep.Time.Format("20060102-150405")+".json")
	if err := os.WriteFile(file, js, 0o644); err != nil {
		return err
	}
	_ = os.WriteFile(filepath.Join(o.out, "latest.json"), js, 0o644)
	fmt.Printf("\nwritten %s\n", file)
	return nil
}

// ceiling starts a ceiling server (this binary in ceiling mode) and drives
// it closed-loop as hard as the token scenarios drive UMS.
func ceiling(kind, dbURL, out string, data *seeded, o options) (row, error) {
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
	var fn op
	switch kind {
	case "trivial":
		fn = func(ctx context.Context, _ int, _ *mrand.Rand) (int, bool) {
			status, _, err := call(ctx, http.MethodGet, p.base+"/ping", "", nil)
			return status, err == nil && status == http.StatusOK
		}
	case "jwtdb":
		tokens := make([]string, 256)
		for i := range tokens {
			if tokens[i], err = ceilingToken(seedHex, data.users[i*len(data.users)/len(tokens)].id); err != nil {
				return row{}, err
			}
		}
		fn = func(ctx context.Context, _ int, rng *mrand.Rand) (int, bool) {
			status, _, err := call(ctx, http.MethodGet, p.base+"/me", tokens[rng.IntN(len(tokens))], nil)
			return status, err == nil && status == http.StatusOK
		}
	}
	w := watchProc(p.pid())
	t := closedLoop(o.duration*8/10, o.workers, fn)
	cpu, dbCPU, peak := w.finish()
	name := map[string]string{"trivial": "ceiling: Echo, trivial handler", "jwtdb": "ceiling: Echo, verify JWT + read row"}[kind]
	return toRow(name, t, cpu, dbCPU, peak), nil
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

func toRow(name string, t *tally, cpu, dbCPU float64, peak int64) row {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	st := map[string]int{}
	for s, n := range t.statuses {
		key := strconv.Itoa(s)
		if s == 0 {
			key = "transport_error"
		}
		st[key] = n
	}
	return row{Scenario: name, Requests: t.requests, RPS: t.rps(), P50Ms: ms(t.percentile(50)), P95Ms: ms(t.percentile(95)),
		P99Ms: ms(t.percentile(99)), Errors: t.errors, Statuses: st, ServerCPU: cpu, DBCPU: dbCPU, PeakRSSMiB: float64(peak) / (1 << 20)}
}

func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\nUMS load benchmark — %s; argon2id %s; ceilings: argon2 %.0f hashes/s, Echo trivial %.0f rps, jwt+db %.0f rps\n\n",
		rep.Machine["cpu"], rep.Config["argon2"], rep.Ceilings["argon2"], rep.Ceilings["trivial"], rep.Ceilings["jwtdb"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "scenario\t rps\t p50 ms\t p95 ms\t p99 ms\t errors\t server CPU\t machine CPU\t peak RSS MiB\t ceiling\t ratio\t target\t")
	for _, r := range rep.Rows {
		ratio, ceil := "", ""
		if r.CeilingRPS > 0 {
			ceil, ratio = fmt.Sprintf("%s %.0f", r.Ceiling, r.CeilingRPS), fmt.Sprintf("%.0f%%", 100*r.Ratio)
		}
		target := r.Target
		if r.Met != nil {
			target += map[bool]string{true: " ✓", false: " ✗"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t %.0f\t %.1f\t %.1f\t %.1f\t %d\t %.2f\t %.2f\t %.0f\t %s\t %s\t %s\t\n", r.Scenario, r.RPS, r.P50Ms, r.P95Ms,
			r.P99Ms, r.Errors, r.ServerCPU, r.DBCPU, r.PeakRSSMiB, ceil, ratio, target)
	}
	_ = tw.Flush()
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
