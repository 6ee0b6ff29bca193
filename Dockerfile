# Multi-stage image of troupe-node. BASE lets an offline machine use a locally
# imported Debian 12 image.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      g++ cmake ninja-build pkg-config libcaf-dev libboost-dev libspdlog-dev libfmt-dev \
      nlohmann-json3-dev libcli11-dev libssl-dev libpqxx-dev libsodium-dev >/dev/null
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTROUPE_BUILD_TESTS=OFF -DTROUPE_BUILD_BENCH=OFF \
 && cmake --build /build --target troupe-node

FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 libspdlog1.10 libfmt9 libssl3 libpqxx-6.4 libpq5 \
      libsodium23 >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 troupe
COPY --from=build /build/nodes/troupe-node/troupe-node /usr/local/bin/troupe-node
USER 10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/troupe-node"]
