# syntax=docker/dockerfile:1
# Build: docker build -t as4gw .
# A static, non-root image: the binary and CA certificates, nothing else.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 GOFLAGS=-trimpath go build \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/as4gw ./cmd/as4gw

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/as4gw /usr/local/bin/as4gw
# Message store and payloads; mount a volume here in production.
WORKDIR /var/lib/as4gw
VOLUME ["/var/lib/as4gw"]
# AS4 endpoint, backend API, operations (as in configs/as4gw.example.yaml).
EXPOSE 8443 8080 9090
USER nonroot:nonroot
# Readiness of the operations listener (store answers, certificate valid,
# listeners up); the image has no shell, so the binary probes itself.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/as4gw", "healthcheck", "--url", "http://127.0.0.1:9090/readyz"]
ENTRYPOINT ["/usr/local/bin/as4gw"]
CMD ["serve", "--config", "/etc/as4gw/as4gw.yaml"]
