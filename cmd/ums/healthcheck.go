package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ums-project/ums/bootstrap"
)

// healthcheck asks the local server's /healthz and fails unless it answers
// 200. It exists because the container image has no shell and no curl: the
// Dockerfile's HEALTHCHECK runs `ums healthcheck`.
func healthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stdout)
	target := fs.String("url", "", "URL to GET (default: /healthz on 127.0.0.1 at the port of HTTP_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		cfg, err := bootstrap.LoadConfig()
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		if *target, err = healthURL(cfg.HTTPAddr, cfg.TLSCertFile != ""); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// A bare Transport ignores HTTP_PROXY, which must not see a local probe.
	// The server's certificate names its public host, not 127.0.0.1; the
	// probe only asks whether our own process answers, so it is not verified.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *target, res.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// healthURL turns HTTP_ADDR (":8080", "0.0.0.0:8080", "[::]:8080",
// "10.0.0.5:8080") into the loopback-or-given URL of /healthz.
func healthURL(addr string, useTLS bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return "", errors.New("healthcheck: HTTP_ADDR has no fixed port; pass --url")
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz", nil
}
