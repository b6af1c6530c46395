package http

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	swaggerFiles "github.com/swaggo/files/v2"
	"go.yaml.in/yaml/v3"
)

//go:embed openapi.yaml docs/*
var assets embed.FS

// OpenAPIJSON returns the API contract as JSON, the form served at
// /openapi.json; tests load it to validate responses.
func OpenAPIJSON() ([]byte, error) {
	src, err := assets.ReadFile("openapi.yaml")
	if err != nil {
		return nil, err
	}
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

func registerDocs(e *echo.Echo) error {
	spec, err := OpenAPIJSON()
	if err != nil {
		return err
	}
	e.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", spec)
	})
	page := func(name, contentType string) echo.HandlerFunc {
		body, _ := assets.ReadFile(name)
		return func(c echo.Context) error {
			c.Response().Header().Set("Content-Security-Policy", docsCSP)
			return c.Blob(http.StatusOK, contentType, body)
		}
	}
	e.GET("/docs", page("docs/index.html", "text/html; charset=utf-8"))
	e.GET("/docs/init.js", page("docs/init.js", "application/javascript; charset=utf-8"))
	// Swagger UI's own files, embedded by the swaggo/files module: the page
	// works offline, with no CDN.
	ui := http.StripPrefix("/docs/assets/", http.FileServer(http.FS(swaggerFiles.FS)))
	e.GET("/docs/assets/*", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", docsCSP)
		ui.ServeHTTP(c.Response(), c.Request())
		return nil
	})
	return nil
}
