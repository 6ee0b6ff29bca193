# The troupe-node image, in two stages: a Debian 12 stage compiles troupe-node in Release,
# and a runtime stage from scratch holds the binary, exactly the shared libraries ldd says
# it loads, and an unprivileged user - no shell, no package manager, no compiler.
#
# scripts/image builds it offline from a Debian base made here (BASE); on an ordinary
# machine `podman build .` (or docker build) starts from debian:bookworm-slim.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      g++ cmake ninja-build ccache pkg-config libcaf-dev libboost-dev libspdlog-dev libfmt-dev \
      nlohmann-json3-dev libcli11-dev libssl-dev libpqxx-dev libsodium-dev >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG TROUPE_VERSION=0.0.0-unknown
ARG TROUPE_REVISION=unknown
# The compiler cache lives in a cache mount, so a rebuild with unchanged sources takes
# seconds even when the COPY above invalidated this layer.
RUN --mount=type=cache,target=/ccache,id=troupe-ccache \
    export CCACHE_DIR=/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1 \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTROUPE_BUILD_TESTS=OFF -DTROUPE_BUILD_BENCH=OFF \
      -DTROUPE_VERSION="${TROUPE_VERSION}" -DTROUPE_REVISION="${TROUPE_REVISION}" >/dev/null \
 && cmake --build /build --target troupe-node \
 && ccache --show-stats | grep -E "^(cache hit|cache miss)" || true
# The runtime file system: the stripped binary, each library ldd resolves (copied under
# /usr/lib as Debian's merged /usr lays them out), and the user the node runs as.
RUN set -e; root=/rootfs; \
    mkdir -p $root/usr/local/bin $root/usr/lib/x86_64-linux-gnu $root/usr/lib64 $root/etc $root/tmp; \
    chmod 1777 $root/tmp; ln -s usr/lib $root/lib; ln -s usr/lib64 $root/lib64; \
    strip -o $root/usr/local/bin/troupe-node /build/nodes/troupe-node/troupe-node; \
    for lib in $(ldd /build/nodes/troupe-node/troupe-node | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do \
      cp -L "$lib" $root/usr/lib/x86_64-linux-gnu/; \
    done; \
    cp -L /lib64/ld-linux-x86-64.so.2 $root/usr/lib64/; \
    echo "troupe:x:10001:10001:troupe:/nonexistent:/usr/sbin/nologin" >$root/etc/passwd; \
    echo "troupe:x:10001:" >$root/etc/group; \
    echo "hosts: files dns" >$root/etc/nsswitch.conf; \
    $root/usr/lib64/ld-linux-x86-64.so.2 --library-path $root/usr/lib/x86_64-linux-gnu \
      $root/usr/local/bin/troupe-node --version

FROM scratch
COPY --from=build /rootfs/ /
ARG TROUPE_VERSION=0.0.0-unknown
ARG TROUPE_REVISION=unknown
ARG CREATED=
ARG SOURCE=
LABEL org.opencontainers.image.title="troupe-node" \
      org.opencontainers.image.description="One node of a Troupe actor cluster: HTTP facade, users, orders, notifications" \
      org.opencontainers.image.version="${TROUPE_VERSION}" \
      org.opencontainers.image.revision="${TROUPE_REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="NOASSERTION"
USER 10001:10001
# HTTP facade, cluster endpoint (set TROUPE_CLUSTER_PORT=7100 to join a cluster).
EXPOSE 8080 7100
ENTRYPOINT ["/usr/local/bin/troupe-node"]
