# rotor: a static binary on a minimal base, running as non-root.
# Build: docker build -t rotor .   Run: mount the config at /etc/rotor.
# Multi-architecture (docs/operations.md, "Container image"):
#   docker buildx build --platform linux/amd64,linux/arm64 -t rotor .
# The build stage runs on the builder's own platform and cross-compiles
# for each target (no emulation): buildx sets TARGETOS and TARGETARCH.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/rotor ./cmd/rotor

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rotor /usr/local/bin/rotor
USER 65532:65532
# Needs a listener block in the config (e.g. listener "tcp" { address = "127.0.0.1:8210" }).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/rotor", "health", "-config", "/etc/rotor"]
ENTRYPOINT ["/usr/local/bin/rotor"]
CMD ["agent", "-config", "/etc/rotor"]
