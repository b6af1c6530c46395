//go:build deploy

package deploy

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ums-project/ums/test/dbtest"
)

// distrolessNonroot is the uid and gid of "nonroot" in the distroless image.
const distrolessNonroot = 65532

// TestDockerfile checks the image's recipe. No Docker engine runs here, so
// the binary is built with the Dockerfile's own RUN line (TestMain) and
// TestStaticBinaryServes runs it the way the image does.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	df := string(raw)

	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)(\s+AS\s+(\S+))?`).FindAllStringSubmatch(df, -1)
	require.Len(t, froms, 2, "multi-stage: a build stage and a runtime stage")
	assert.Equal(t, "build", froms[0][3])
	assert.True(t, strings.HasPrefix(froms[1][1], "gcr.io/distroless/static"), "runtime is distroless static: %s", froms[1][1])
	assert.True(t, strings.HasSuffix(froms[1][1], ":nonroot"))
	assert.Regexp(t, `(?m)^USER nonroot:nonroot$`, df)
	assert.Regexp(t, `(?m)^COPY --from=build /out/ums /usr/local/bin/ums$`, df)
	assert.Regexp(t, `(?m)^\s+CMD \["/usr/local/bin/ums", "healthcheck"\]$`, df, "HEALTHCHECK uses the binary: no shell or curl in distroless")
	assert.Contains(t, df, "HEALTHCHECK ")
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/usr/local/bin/ums"\]$`, df)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/ums", "-o /out/ums"} {
		assert.Contains(t, buildLine, want)
	}

	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	for _, want := range []string{".git", ".env", "data/", "*.db"} {
		assert.Contains(t, strings.Split(string(ignore), "\n"), want, ".dockerignore keeps %s out of the build context", want)
	}

	if lint, err := exec.LookPath("hadolint"); err == nil {
		out, err := exec.Command(lint, filepath.Join(root, "Dockerfile")).CombinedOutput()
		assert.NoError(t, err, "hadolint:\n%s", out)
	} else {
		t.Log("hadolint not installed (no Debian package): Dockerfile not linted")
	}
}

// TestStaticBinaryServes proves the image's binary is static and runs the
// way the container does: as uid 65532, ENV=production, and answers
// `ums healthcheck` (the HEALTHCHECK) while up and fails it when down.
func TestStaticBinaryServes(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "version", "-m", binary).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "CGO_ENABLED=0")
	assert.Contains(t, string(out), "-trimpath=true")
	if file, err := exec.LookPath("file"); err == nil {
		out, err := exec.Command(file, binary).CombinedOutput()
		require.NoError(t, err)
		assert.Contains(t, string(out), "statically linked", string(out))
	}

	env := map[string]string{
		"ENV": "production", "DATABASE_URL": dbtest.PostgresURL(t), "KEY_ENCRYPTION_KEY": newKEK(t),
		"MAIL_DRIVER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": fmt.Sprint(freePort(t)), "SMTP_TLS": "none",
		"HOME": "/nonexistent", "LOG_FORMAT": "json", "METRICS_ADDR": "127.0.0.1:0",
	}
	workdir := worldReadableTempDir(t, "ums-image-")
	asNonroot := func(c *exec.Cmd) {
		c.Dir = workdir
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: distrolessNonroot, Gid: distrolessNonroot}}
	}
	srv := startUMSWith(t, env, asNonroot, "--migrate")

	res, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	env["HTTP_ADDR"] = srv.Addr
	probe := func() (string, error) {
		cmd := exec.Command(binary, "healthcheck")
		cmd.Env = environ(env)
		asNonroot(cmd)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	msg, err := probe()
	require.NoError(t, err, msg)
	assert.Contains(t, msg, "ok")

	srv.Stop()
	start := time.Now()
	msg, err = probe()
	require.Error(t, err, "healthcheck must fail once the server is gone")
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode(), msg)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestComposeFile checks deploy/docker-compose.yml's wiring (no Docker
// engine runs here); `docker compose config` validates it where available.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(root, "deploy", "docker-compose.yml")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       map[string]string `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck map[string]any `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	ums := doc.Services["ums"]
	assert.Equal(t, "..", ums.Build["context"])
	assert.Equal(t, "Dockerfile", ums.Build["dockerfile"])
	assert.Equal(t, "production", ums.Environment["ENV"])
	assert.True(t, strings.HasPrefix(ums.Environment["DATABASE_URL"], "postgres://"))
	assert.True(t, strings.HasPrefix(ums.Environment["REDIS_URL"], "redis://redis:"))
	assert.Contains(t, ums.Environment["KEY_ENCRYPTION_KEY"], ":?", "the key must be given, never defaulted")
	assert.NotEmpty(t, ums.Environment["METRICS_ADDR"], "production keeps /metrics off the public port")
	for _, dep := range []string{"postgres", "redis"} {
		assert.Equal(t, "service_healthy", ums.DependsOn[dep].Condition)
		assert.NotEmpty(t, doc.Services[dep].Healthcheck, dep)
	}

	docker, err := exec.LookPath("docker")
	if err != nil || exec.Command(docker, "compose", "version").Run() != nil {
		t.Log("docker compose not installed: compose file checked structurally only")
		return
	}
	cmd := exec.Command(docker, "compose", "-f", path, "config", "--quiet")
	cmd.Env = append(os.Environ(), "UMS_KEY_ENCRYPTION_KEY="+newKEK(t))
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "docker compose config:\n%s", out)
}
