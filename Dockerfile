# syntax=docker/dockerfile:1
# UMS container image: a static binary on distroless, running as non-root.
#
#   docker build -t ums:latest --build-arg VERSION="$(git describe --tags --always)" .
#   docker run --rm -p 8080:8080 --env-file ums.env ums:latest
#
# The image runs `ums serve` with ENV=production: it needs DATABASE_URL
# (postgres://), KEY_ENCRYPTION_KEY, SMTP settings and METRICS_ADDR (or
# METRICS_BEARER_TOKEN) to keep /metrics off the public port. Apply migrations with
# `docker run --rm --env-file ums.env ums:latest migrate up` before starting
# a new version (see docs/operations.md). deploy/docker-compose.yml wires it
# to Postgres and Redis.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The same build as `make build`; test/deploy runs this very line.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ums ./cmd/ums

# static-debian12 has CA certificates, tzdata and /etc/passwd with the
# nonroot user (65532) - and no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ums /usr/local/bin/ums
USER nonroot:nonroot
WORKDIR /home/nonroot
ENV ENV=production \
    HTTP_ADDR=:8080 \
    LOG_FORMAT=json
EXPOSE 8080
# No curl in distroless: the binary probes its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/ums", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ums"]
CMD ["serve"]
