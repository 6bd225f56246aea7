# The reconcile image: the `reconcile` CLI and the `reconcile-workload` inference workload
# (model server and benchmark) as one static binary on an otherwise empty root (glibc,
# libstdc++ and zlib only), as a non-root user.
#
#   docker build -t reconcile:dev .              build from source (needs the swift image)
#   scripts/build-image [TAG]                    the same, on the engine DOCKER_HOST names;
#                                                with --prebuilt, from a binary built on the host
#
# One binary: `reconcile-bundle` is reconcile, and the workload when run as
# reconcile-workload (a link), so the image holds one static Swift runtime, not two.
#
# Stage order matters: `--target prebuilt` and what it uses come before the Swift builder,
# so they never need the Swift image, even on the legacy builder, which runs every stage
# up to its target. The default target (the last stage) builds from source.

ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG SWIFT_IMAGE=swift:6.1-bookworm

# What both ways share: metadata only (scratch has nothing to run).
FROM scratch AS base
ENV PATH=/usr/local/bin
# serve and healthcheck both read the port from here when no --port is given.
ENV RECONCILE_WORKLOAD_PORT=8080
# serve listens on all of the container's addresses whatever command a manifest gives it
# (`command: ["reconcile-workload", "serve"]`), as model-server images do.
ENV RECONCILE_WORKLOAD_HOST=0.0.0.0
EXPOSE 8080
USER reconcile:reconcile
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["reconcile-workload", "healthcheck"]
CMD ["reconcile-workload", "serve"]

# The root file system around a binary built on the host by scripts/build-image --prebuilt
# (release, static Swift runtime, static OpenBLAS): collected in Debian, copied onto scratch.
FROM ${RUNTIME_IMAGE} AS prebuilt-rootfs
COPY docker/make-rootfs /usr/local/sbin/make-rootfs
COPY workload/models/digits-mlp/ /rootfs/usr/local/share/reconcile/models/digits-mlp/
COPY workload/data/digits.csv.gz /rootfs/usr/local/share/reconcile/data/digits.csv.gz
COPY .build-image/bin/reconcile /rootfs/usr/local/bin/reconcile
RUN make-rootfs /rootfs

FROM base AS prebuilt
COPY --from=prebuilt-rootfs /rootfs/ /

FROM ${SWIFT_IMAGE} AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends libopenblas-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.* ./
RUN swift package resolve
COPY Sources Sources
COPY Tests Tests
# A directory holding only libopenblas.a, searched before the system one, so the binary
# carries OpenBLAS and the runtime needs no BLAS package.
RUN mkdir /static-blas && ln -s "/usr/lib/$(gcc -print-multiarch)/libopenblas.a" /static-blas/ \
    && swift build -c release --static-swift-stdlib -Xlinker -L/static-blas --product reconcile-bundle \
    && mkdir -p /out \
    && install -s "$(swift build -c release --show-bin-path)/reconcile-bundle" /out/reconcile

FROM ${RUNTIME_IMAGE} AS runtime-rootfs
COPY docker/make-rootfs /usr/local/sbin/make-rootfs
COPY workload/models/digits-mlp/ /rootfs/usr/local/share/reconcile/models/digits-mlp/
COPY workload/data/digits.csv.gz /rootfs/usr/local/share/reconcile/data/digits.csv.gz
COPY --from=builder /out/reconcile /rootfs/usr/local/bin/reconcile
RUN make-rootfs /rootfs

FROM base AS runtime
COPY --from=runtime-rootfs /rootfs/ /
