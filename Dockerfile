# rotor: a static binary on a minimal base, running as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/rotor ./cmd/rotor

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rotor /usr/local/bin/rotor
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/rotor"]
CMD ["agent", "-config", "/etc/rotor"]
