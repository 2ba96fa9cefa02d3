# Container image for the beatgrid server.
#
#   docker build -t beatgrid:latest .
#   docker run -p 8080:8080 -v beatgrid-data:/data beatgrid:latest
#
# The image runs the static binary on distroless as the unprivileged
# "nonroot" user (uid/gid 65532). Without MONGODB_URI the server uses its
# embedded database under /data, which must therefore be writable by 65532.

# ---- build stage ------------------------------------------------------------
FROM golang:1.26-bookworm AS build

WORKDIR /src

# Download modules in their own layer so that source edits don't invalidate it.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 go build -trimpath -tags ferretdb_no_postgresql -ldflags="-s -w" -o /beatgrid ./cmd/beatgrid

# distroless has no shell to mkdir/chown with, so prepare the data directory
# here, owned by the runtime user, and copy it over below.
RUN mkdir -p /data && chown 65532:65532 /data

# ---- runtime stage ----------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /beatgrid /beatgrid
COPY --from=build --chown=65532:65532 /data /data

USER nonroot:nonroot

ENV BEATGRID_ADDR=0.0.0.0:8080 BEATGRID_DATA=/data

VOLUME /data
EXPOSE 8080

# The runtime image has no curl/wget: the binary probes itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/beatgrid", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"]

ENTRYPOINT ["/beatgrid"]
CMD ["serve"]
