# Brook in a container (README "Docker"):
#   docker build -t brook .
#   docker run -p 9092:9092 brook                      # clients on this host: localhost:9092
#   docker network create kafka-net
#   docker run -d --name brook --network kafka-net -e BROOK_ADVERTISED_HOST=brook brook
#                                                      # clients in containers on kafka-net: brook:9092
# Configuration: BROOK_CFG_<NAME> environment variables (BROOK_CFG_LOG_RETENTION_MS=1000 is
# log.retention.ms=1000), or `brook start` options after the image name (src/cli/docker-entrypoint.mjs).
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: the package's `prepare` script would build before the sources are copied (the
# build runs below). No runtime dependency has an install script: the native codecs come as
# prebuilt per-platform packages.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY protocol ./protocol
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    BROOK_PORT=9092 \
    BROOK_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/protocol ./dist/protocol
COPY src/cli/docker-entrypoint.mjs src/cli/docker-healthcheck.mjs ./docker/
# The image's `node` user (uid 1000) runs the broker and owns the data volume. A bind-mounted data
# directory must be writable by uid 1000.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 9092
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/app/docker/docker-healthcheck.mjs"]
ENTRYPOINT ["node", "/app/docker/docker-entrypoint.mjs"]
