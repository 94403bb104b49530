# fas: build the release binary (Lua, stdlib and TLS all inside it), then run it on a
# slim base with CA certificates (and procps, for `pkill -HUP -x fas`: a live reload
# from `fly ssh console`), as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY stdlib ./stdlib
# `fas sandbox` embeds scripts/pool.lua.
COPY scripts ./scripts
RUN cargo build --release --locked && strip target/release/fas

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates procps \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/fas --create-home fas
COPY --from=build /src/target/release/fas /usr/local/bin/fas
COPY scripts /usr/share/fas/scripts
USER fas
WORKDIR /var/lib/fas
EXPOSE 9090
ENTRYPOINT ["fas"]
CMD ["serve"]
