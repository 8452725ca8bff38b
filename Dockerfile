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

# The vault-k8s variant (docs/kubernetes-injector.md), tagged <version>-vault-k8s:
#   docker buildx build --platform linux/amd64,linux/arm64 --target vault-k8s -t rotor:1.4.0-vault-k8s .
# The Vault Agent injector runs its containers as
# /bin/sh -ec "echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=..."
# with a preStop hook "/bin/sleep N && /bin/vault token revoke -self": so this
# image adds a static busybox (sh, base64, sleep, touch), rotor as /bin/vault
# (and /bin/rotor, for an exec probe: rotor health -ready), and the user
# vault (UID 100, GID 1000, home /home/vault) the injector's securityContext
# runs as. Its root file system may be read-only:
# only /home/vault and /vault/secrets (the injector's volumes) are written.
FROM busybox:1.37.0-musl AS busybox

# Lays the variant's files out on the builder's platform: COPY and ln only,
# so the target architecture's busybox is never run (no emulation).
FROM --platform=$BUILDPLATFORM golang:1.26 AS vault-k8s-root
COPY --from=busybox /bin/busybox /rootfs/bin/busybox
RUN set -e; cd /rootfs/bin; for tool in sh base64 sleep touch cat; do ln -s busybox "$tool"; done; ln -s vault rotor; \
    mkdir -p /rootfs/etc /rootfs/home/vault /rootfs/vault/secrets; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\nvault:x:100:1000:vault:/home/vault:/bin/sh\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\nvault:x:1000:vault\n' > /rootfs/etc/group

FROM gcr.io/distroless/static-debian12:nonroot AS vault-k8s
COPY --from=vault-k8s-root /rootfs/bin/ /bin/
COPY --from=vault-k8s-root /rootfs/etc/passwd /rootfs/etc/group /etc/
COPY --from=vault-k8s-root --chown=100:1000 /rootfs/home/vault/ /home/vault/
COPY --from=vault-k8s-root --chown=100:1000 /rootfs/vault/ /vault/
COPY --from=build /out/rotor /bin/vault
USER 100:1000
ENV HOME=/home/vault
WORKDIR /home/vault
ENTRYPOINT ["/bin/vault"]
CMD ["version"]

# The default image (the last stage): rotor alone on distroless.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rotor /usr/local/bin/rotor
USER 65532:65532
# Needs a listener block in the config (e.g. listener "tcp" { address = "127.0.0.1:8210" }).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/rotor", "health", "-config", "/etc/rotor"]
ENTRYPOINT ["/usr/local/bin/rotor"]
CMD ["agent", "-config", "/etc/rotor"]
