# A small image for running otcompat beside robots on a lab server.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/otcompat ./cmd/otcompat

# distroless/static has no shell and no package manager; nonroot is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otcompat /usr/local/bin/otcompat
USER nonroot:nonroot
EXPOSE 31960 31961
ENTRYPOINT ["/usr/local/bin/otcompat"]
CMD ["serve", "--listen", "0.0.0.0:31960", "--admin-listen", "0.0.0.0:31961"]
