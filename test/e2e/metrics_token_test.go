package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

const metricsToken = "0123456789abcdef0123456789abcdef-metrics"

func TestMetricsBearerTokenOnTheAPIPort(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"METRICS_BEARER_TOKEN": metricsToken})

	res := s.request(t, http.MethodGet, "/metrics", "", nil, nil)
	require.Equal(t, http.StatusUnauthorized, res.Status, "no token")
	assert.Equal(t, `Bearer realm="ums"`, res.Header.Get("WWW-Authenticate"))
	assert.Equal(t, "missing_token", res.JSON(t)["code"])
	assert.NotContains(t, string(res.Body), "ums_build_info")

	registerUser(t, s, "scraper")
	accessToken := login(t, s, "scraper", testPass).AccessToken
	for name, header := range map[string]string{
		"wrong token":      "Bearer " + metricsToken[:len(metricsToken)-1] + "X",
		"prefix only":      "Bearer " + metricsToken[:10],
		"token and more":   "Bearer " + metricsToken + "x",
		"empty bearer":     "Bearer ",
		"basic scheme":     "Basic " + metricsToken,
		"token, no scheme": metricsToken,
		"an access token":  "Bearer " + accessToken,
	} {
		res := s.request(t, http.MethodGet, "/metrics", "", nil, map[string]string{"Authorization": header})
		require.Equal(t, http.StatusUnauthorized, res.Status, name)
		assert.Equal(t, `Bearer realm="ums", error="invalid_token"`, res.Header.Get("WWW-Authenticate"), name)
		assert.Equal(t, "invalid_token", res.JSON(t)["code"], name)
	}

	for _, scheme := range []string{"Bearer ", "bearer "} {
		res = s.request(t, http.MethodGet, "/metrics", "", nil, map[string]string{"Authorization": scheme + metricsToken})
		require.Equal(t, http.StatusOK, res.Status)
		assert.Contains(t, string(res.Body), "ums_build_info")
	}
}

func TestMetricsBearerTokenOnTheMetricsAddress(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"METRICS_ADDR": "127.0.0.1:0", "METRICS_BEARER_TOKEN": metricsToken})
	assert.Equal(t, http.StatusNotFound, s.request(t, http.MethodGet, "/metrics", "", nil,
		map[string]string{"Authorization": "Bearer " + metricsToken}).Status, "still not on the public port")

	get := func(auth string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.srv.SideAddr("metrics")+"/metrics", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := s.client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, b
	}
	for _, auth := range []string{"", "Bearer wrong"} {
		res, body := get(auth)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode, "Authorization %q", auth)
		assert.NotEmpty(t, res.Header.Get("WWW-Authenticate"))
		assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		var p map[string]any
		require.NoError(t, json.Unmarshal(body, &p))
		assert.EqualValues(t, http.StatusUnauthorized, p["status"])
		assert.NotEmpty(t, p["request_id"])
	}
	res, body := get("Bearer " + metricsToken)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "ums_build_info")
}
