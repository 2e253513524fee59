# One image for the exporter and the agent: `netchecker exporter` / `netchecker agent`.
# Build stage compiles TypeScript; the runtime stage has production dependencies only.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json cli.ts ./
COPY lib lib
COPY report report
COPY exporter exporter
COPY agent agent
COPY local local
COPY check check
COPY ui ui
# The product only (tsconfig.json): bench/, alerts/ and dashboards/ need dev dependencies.
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
# iputils-ping: the agent's ICMP probes use the system ping.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iputils-ping \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
# The status page's HTML, CSS and icon (its scripts are in dist/ui).
COPY --from=build /src/ui/index.html /src/ui/page.css /src/ui/icon.svg ui/
RUN chmod +x dist/cli.js && ln -s /app/dist/cli.js /usr/local/bin/netchecker
# Numeric, so Kubernetes can verify runAsNonRoot; the image's "node" user.
USER 1000:1000
# 8081: the exporter; 8090 and 8091: the pod-network and host-network agents' --listen (deploy/base).
EXPOSE 8081 8090 8091
# Manifests written for the original images pass only the original's flags: their args replace
# CMD, and cli.ts picks the command from those flags (-endpoint: exporter, -serverendpoint: agent).
ENTRYPOINT ["netchecker"]
CMD ["exporter"]
