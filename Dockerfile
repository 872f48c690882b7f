# centralita: build the TypeScript, then run it as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm run build records the commit built (null here: no .git in the context).
COPY scripts/build-info.ts ./scripts/
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# 0.0.0.0 inside the container only: a container's loopback cannot be reached
# from outside it. centralita speaks plain HTTP with bearer tokens, so publish
# the port to the host's loopback only (-p 127.0.0.1:3000:3000) and serve it
# behind a reverse proxy that terminates TLS: README, "Behind a reverse proxy".
ENV NODE_ENV=production \
    CENTRALITA_HOST=0.0.0.0 \
    CENTRALITA_PORT=3000 \
    CENTRALITA_DATA_DIR=/var/lib/centralita \
    CENTRALITA_RECORDINGS_DIR=/var/spool/centralita/recordings \
    CENTRALITA_PROMPTS_DIR=/var/lib/centralita/prompts
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY web ./web
# centralita's own sounds: `doctor` checks Asterisk has them (Asterisk's image copies them in).
COPY sounds ./sounds
# pg_dump and pg_restore for `node dist/cli.js backup|restore` (README, "Backup and
# restore"): Debian 12's are PostgreSQL 15's, the major version of the compose file's server.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /var/lib/centralita/prompts /var/spool/centralita/recordings \
 && chown -R node:node /var/lib/centralita /var/spool/centralita
USER node
EXPOSE 3000
# Liveness (/health/live): the process answers. Readiness (/health, 503
# while the database or ARI is down) is for the proxy and the monitoring, not
# a reason to mark the container broken. Over HTTPS when TLS is configured
# (its own certificate: not verified for this local probe).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "require(process.env.CENTRALITA_TLS_CERT?'https':'http').get({host:'127.0.0.1',port:process.env.CENTRALITA_PORT||3000,path:'/health/live',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
CMD ["node", "dist/main.js"]
