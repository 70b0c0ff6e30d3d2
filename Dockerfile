# Conflux in a container: a static binary on a distroless base, run as a non-root user.
#
#   docker build -t conflux .
#   docker run --rm -p 8080:8080 -v "$PWD:/config:ro" conflux --config /config/conflux.yaml
#
# Without --config the image serves the built-in Customer 360 example with its mock backends.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build stamps the commit from .git (conflux version prints it).
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/conflux .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/conflux /usr/local/bin/conflux
USER nonroot:nonroot
EXPOSE 8080
ENV CONFLUX_ADDR=0.0.0.0:8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/conflux", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/conflux"]
