# syntax=docker/dockerfile:1
# One image for every coffer process: the API, projections, workers, each indexer and, in the
# compose devnets profile, the local chains. They differ only in their `coffer` command. Node 24
# runs the TypeScript itself (type stripping), so there is no build step to stage. A second
# image, the `devtools` target, runs the devnets' dev tools (Alto); the default build is the runtime.

# Stage 1: the production dependencies, exactly as locked.
FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --omit=dev: no compiler, linter, test or browser tooling in the image. --ignore-scripts: no
# install script runs (litesvm and leveldown ship prebuilt binaries for linux-x64 glibc, which is
# why the base is Debian and not Alpine).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stages 2 and 3: the dev-tools image (`docker build --target devtools`), for the compose
# devnets profile only: Alto, the ERC-4337 bundler, is a GPL devDependency that coffer never
# loads, so it needs the full install. Nothing of these stages reaches the runtime below, which
# stays the default (last) stage: the production image has no devDependencies.
FROM node:24-bookworm-slim AS dev-dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim AS devtools
WORKDIR /app
COPY --from=dev-dependencies /app/node_modules ./node_modules
COPY . .
USER node
ENTRYPOINT ["node", "cli/coffer.ts"]

# Stage 4: the runtime. Source and dependencies belong to root and are read-only to the process.
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY . .
# The keystore and the webhook root live on a volume the unprivileged user owns; a named volume
# mounted here takes this directory's owner on first use.
RUN mkdir -p /var/lib/coffer && chown node:node /var/lib/coffer
ENV COFFER_KEYSTORE_DIR=/var/lib/coffer/keys \
    WEBHOOK_ROOT_FILE=/var/lib/coffer/webhook-root \
    API_HOST=0.0.0.0
USER node
EXPOSE 3000
ENTRYPOINT ["node", "cli/coffer.ts"]
CMD ["start"]
