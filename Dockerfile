# syntax=docker/dockerfile:1
# chatbench as a container image: one static binary (CGO_ENABLED=0, checked
# by the test suite: cmd/image_test.go) in a distroless image that has no
# shell, only CA certificates, /tmp and a non-root user (65532), which it
# runs as. Build and push (docs/kubernetes.md):
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t REGISTRY/chatbench:TAG .
#   docker push REGISTRY/chatbench:TAG
#
# Several architectures at once: docker buildx build --platform linux/amd64,linux/arm64 ... --push

ARG GO_VERSION=1.26.8

# The build runs on the builder's own platform and cross-compiles.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETARCH=amd64
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux GOARCH=${TARGETARCH} go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/chatbench/chatbench/cmd.Version=${VERSION}" \
      -o /out/chatbench .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/chatbench /usr/local/bin/chatbench
USER 65532:65532
# serve's HTTP/WebSocket port and swarm's --metrics-addr in deploy/k8s.
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/chatbench"]
CMD ["--help"]
