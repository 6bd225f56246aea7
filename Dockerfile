# The reconcile image: the `reconcile` CLI and the `reconcile-workload` inference
# workload (model server and benchmark) on slim Debian, as a non-root user.
#
#   docker build -t reconcile:dev .              build from source (needs the swift image)
#   scripts/build-image [TAG]                    the same, on the engine DOCKER_HOST names;
#                                                with --prebuilt, from binaries built on the host
#
# Stage order matters: `--target prebuilt` comes before the Swift builder, so it
# never needs the Swift image, even on the legacy builder, which runs every stage
# up to its target. The default target (the last stage) builds from source.

ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG SWIFT_IMAGE=swift:6.1-bookworm

# What both ways share: user, bundled model and data, health check, entry point.
FROM ${RUNTIME_IMAGE} AS base
RUN groupadd --system --gid 10001 reconcile \
    && useradd --system --uid 10001 --gid reconcile --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin reconcile
COPY workload/models/digits-mlp/ /usr/local/share/reconcile/models/digits-mlp/
COPY workload/data/digits.csv.gz /usr/local/share/reconcile/data/digits.csv.gz
# serve and healthcheck both read the port from here when no --port is given.
ENV RECONCILE_WORKLOAD_PORT=8080
EXPOSE 8080
USER reconcile:reconcile
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["reconcile-workload", "healthcheck"]
CMD ["reconcile-workload", "serve", "--host", "0.0.0.0"]

# Binaries built on the host by scripts/build-image --prebuilt (release,
# static Swift runtime, static OpenBLAS), for engines that cannot pull swift.
FROM base AS prebuilt
COPY .build-image/bin/reconcile .build-image/bin/reconcile-workload /usr/local/bin/

FROM ${SWIFT_IMAGE} AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends libopenblas-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.* ./
RUN swift package resolve
COPY Sources Sources
COPY Tests Tests
# A directory holding only libopenblas.a, searched before the system one, so the
# binaries carry OpenBLAS and the runtime image needs no BLAS package.
RUN mkdir /static-blas && ln -s "/usr/lib/$(gcc -print-multiarch)/libopenblas.a" /static-blas/ \
    && swift build -c release --static-swift-stdlib -Xlinker -L/static-blas --product reconcile \
    && swift build -c release --static-swift-stdlib -Xlinker -L/static-blas --product reconcile-workload \
    && mkdir -p /out \
    && install -s "$(swift build -c release --show-bin-path)/reconcile" \
        "$(swift build -c release --show-bin-path)/reconcile-workload" /out/

FROM base AS runtime
COPY --from=builder /out/ /usr/local/bin/
