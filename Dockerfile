# syntax=docker/dockerfile:1
# The headless StablePay server with the UI inside the binary. Stages: the UI (node), the server
# (rust), `web` (nginx + the UI as static files, for deploy/compose.yaml), and the default small
# runtime (debian slim, non-root, HEALTHCHECK). Build from the repo root:
#   docker build -t stablepay-server .
# Run: docker run -p 8080:8080 -v stablepay-data:/var/lib/stablepay \
#        -e STABLEPAY_SERVER__API_KEYS=change-me-to-a-long-key stablepay-server

FROM node:20-bookworm-slim AS ui
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY ui ui
RUN npm run ui:build

FROM rust:1-bookworm AS server
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src-tauri src-tauri
COPY migrations migrations
COPY --from=ui /src/ui/dist ui/dist
# Only the server crate: the desktop shell (root package) needs WebKit and is not built here.
RUN cargo build --release --locked -p stablepay-server \
 && strip target/release/stablepay-server

# nginx with the built UI as static files (deploy/compose.yaml builds it with target: web).
FROM nginx:1.27-alpine AS web
COPY --from=ui /src/ui/dist /usr/share/nginx/stablepay
COPY deploy/nginx/stablepay.conf /etc/nginx/conf.d/default.conf

# The default target: the server.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/stablepay --create-home --shell /usr/sbin/nologin stablepay
COPY --from=server /src/target/release/stablepay-server /usr/local/bin/stablepay-server
COPY deploy/profiles /etc/stablepay/profiles
USER stablepay
WORKDIR /var/lib/stablepay
ENV STABLEPAY_SERVER__BIND=0.0.0.0:8080 \
    STABLEPAY_DATABASE__PATH=/var/lib/stablepay/stablepay.db
VOLUME /var/lib/stablepay
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["stablepay-server", "serve"]
CMD ["--config", "/etc/stablepay/profiles/prod.toml"]
