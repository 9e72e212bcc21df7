# One multi-stage image recipe for the three services: docker build --build-arg SERVICE=users-service .
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# Build: the whole workspace with its dev tools (TypeScript, esbuild for the /demo bundle).
FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json .npmrc ./
COPY packages ./packages
COPY services ./services
COPY infra/local ./infra/local
COPY infra/image ./infra/image
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@suite/${SERVICE}
# The runtime tree: this service's build and the workspace packages it runs with, and their
# production dependencies only (no test harness, no build tools, no other service).
RUN node infra/image/runtime-layout.mjs ${SERVICE} /app /runtime && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build /runtime ./
USER node
# Writes nowhere but /tmp: the root filesystem may be read-only.
ENV TMPDIR=/tmp
STOPSIGNAL SIGTERM
EXPOSE 3001 3002 3003
# exec form: node is PID 1's child-free process and receives SIGTERM for the graceful drain.
# kafkajs 2.2 sets a negative timer on Node 24: the warning is harmless (Node clamps it to 1 ms).
CMD ["sh", "-c", "exec node --disable-warning=TimeoutNegativeWarning services/${SERVICE}/dist/main.js"]
