# A small image for running otcompat beside robots on a lab server.
#
#   docker build --build-arg VERSION=0.1.0 --build-arg COMMIT=$(git rev-parse --short HEAD) -t otcompat .
#   docker run -e OTCOMPAT_UPSTREAM=http://<robot>:31950 -p 31960:31960 otcompat
#
# Multi-platform (BuildKit): docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 ...
# The build stage runs on the build machine and cross-compiles.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# Set by BuildKit for the platform being built (empty with the classic builder: a native build).
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} GOARM=${TARGETVARIANT#v} \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.Version=${VERSION} -X main.Commit=${COMMIT}" \
      -o /out/otcompat ./cmd/otcompat

# distroless/static has no shell and no package manager; nonroot is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="otcompat" \
      org.opencontainers.image.description="Versioned API compatibility proxy for Opentrons robot-server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/otcompat /usr/local/bin/otcompat
USER nonroot:nonroot
EXPOSE 31960 31961
# No shell or curl in the image: otcompat asks its own admin /healthz (it
# follows OTCOMPAT_ADMIN_LISTEN when that is set) and gives up after 3 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/otcompat", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/otcompat"]
# The upstream comes from OTCOMPAT_UPSTREAM (docker run -e ...).
CMD ["serve", "--listen", "0.0.0.0:31960", "--admin-listen", "0.0.0.0:31961"]
