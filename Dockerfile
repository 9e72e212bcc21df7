# One multi-stage image recipe for the three services: docker build --build-arg SERVICE=users-service .
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages ./packages
COPY services ./services
COPY infra/local ./infra/local
RUN npm ci --no-audit --no-fund && npx turbo run build

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/packages ./packages
COPY --from=build /app/services ./services
COPY --from=build /app/infra/local/package.json ./infra/local/package.json
# Production dependencies of this service and the packages it uses; no dev tools.
RUN npm ci --omit=dev --no-audit --no-fund --workspace services/${SERVICE} \
    && npm cache clean --force \
    && rm -rf packages/*/src services/*/src services/*/test packages/*/test
USER node
# Writes nowhere but /tmp: the root filesystem may be read-only.
ENV TMPDIR=/tmp
STOPSIGNAL SIGTERM
EXPOSE 3001 3002 3003
# exec form: node is PID 1's child-free process and receives SIGTERM for the graceful drain.
CMD ["sh", "-c", "exec node --disable-warning=TimeoutNegativeWarning services/${SERVICE}/dist/main.js"]
