# fluxguard image: the CLI, and `fluxguard monitor` for charts/fluxguard.
#
# Multi-stage: compile with the full Node toolchain, then copy the compiled JavaScript and the
# production dependencies onto a distroless Node 24 base (no shell, no package manager) that runs
# as the non-root user 65532. Build in the release pipeline:
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/fluxguard/fluxguard:$VERSION --push .
# (or `buildah bud`, `podman build`, `kaniko --context .`: nothing here needs a daemon).
# Machines without registry access can assemble the same layout with scripts/build-image.sh.

ARG NODE_VERSION=24
FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: `prepare` would build the Go kustomize server, which the monitor does not use.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY schemas ./schemas
RUN npx tsc -p tsconfig.json \
 && find dist -name '*.test.js' -delete -o -name '*.test.js.map' -delete \
 && rm -rf dist/bench dist/src/e2e dist/src/testing \
 && npm prune --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/schemas ./schemas
USER 65532:65532
EXPOSE 8080
# distroless' node is /nodejs/bin/node; the ENTRYPOINT is exec form (there is no shell).
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/bin/fluxguard.js"]
CMD ["monitor", "--listen=0.0.0.0:8080"]
