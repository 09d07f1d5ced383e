# Herald — self-hosted Pusher Channels/Beams replacement. See docs/docker.md.
# Stage 1 compiles the TypeScript sources to dist/ (npm run build: tsc -p tsconfig.build.json, then
# the non-TypeScript files under src/ — GraphQL schema, console assets — copied next to them).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs scripts/copy-assets.mjs ./scripts/
# Nothing to build yet (no src/): the prepare script skips; the build comes after the sources.
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Stage 2 ships dist/ with production dependencies only (no TypeScript, no tsx).
FROM node:24-slim
ENV NODE_ENV=production \
    HERALD_HOST=0.0.0.0 \
    HERALD_PORT=6001 \
    HERALD_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/build.mjs
# prepare (scripts/build.mjs --if-possible) finds no sources and skips.
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 6001
# Liveness only (GET /health): a broker or database outage shows in /ready, not as a restart loop.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/healthcheck.mjs"]
# Herald handles SIGTERM: clients are told to reconnect elsewhere (4200), queues are flushed,
# and it exits within HERALD_SHUTDOWN_TIMEOUT_MS (allow that much in `docker stop -t`).
STOPSIGNAL SIGTERM
# Exec form, no npm in between: `docker stop`'s SIGTERM reaches Herald itself (npm does not pass signals on).
CMD ["node", "bin/herald.js", "start"]
