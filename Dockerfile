# The api and worker images: one image, two commands (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci runs scripts/patch-postgres.mjs (postinstall): a crash fix for postgres.js 3.4.9.
COPY scripts scripts
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workflows workflows
COPY activities activities
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# Access packages (DSRFLOW_ACCESS_PACKAGE_STORAGE): a volume shared by the api and the worker.
RUN mkdir -p /var/lib/dsrflow/access-packages && chown -R node:node /var/lib/dsrflow
USER node
EXPOSE 8080
CMD ["node", "dist/src/cli/api.js"]
