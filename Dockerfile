# syntax=docker/dockerfile:1

# --- build ------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /app

# Dependencies first, against stub sources, so this layer is cached until
# Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
COPY load/Cargo.toml load/Cargo.toml
RUN mkdir -p src load/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > load/src/main.rs \
    && cargo build --release --locked --bin session-bridge \
    && rm -rf src load/src

# The app itself: templates are compiled in (askama), static/ embedded
# (rust-embed) and vendor/ (the socket.io-client bundle) included
# (include_bytes!), so the runtime image needs only the binary.
COPY src src
COPY templates templates
COPY static static
COPY vendor vendor
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin session-bridge

# --- run --------------------------------------------------------------------
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /app/target/release/session-bridge /usr/local/bin/session-bridge
USER 10001
ENV HOST=0.0.0.0 \
    PORT=3000 \
    RUST_LOG=info
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/session-bridge", "healthcheck"]
CMD ["/usr/local/bin/session-bridge"]
