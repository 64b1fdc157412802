# The runbook CLI as a container image, for steps that run inside the cluster (the backfill's
# runner: kubernetes starts one pod per partition with it). Published by
# .github/workflows/image.yml; Jobs pin it by digest.
#
#   docker run --rm -e DATABASE_URL ghcr.io/<owner>/runbook@sha256:<digest> backfill analyze --spec /spec.yml

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# bin/runbook.mjs runs the TypeScript sources through tsx's loader (a devDependency, so it is
# installed on its own, at the version package-lock.json pins, and placed in /node_modules,
# which Node's resolution reaches from /app after /app/node_modules).
FROM node:24-bookworm-slim AS tsx
WORKDIR /tsx
RUN npm install --ignore-scripts --no-audit --no-fund tsx@4.23.15 && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=tsx /tsx/node_modules /node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# The node image's unprivileged user; Jobs may also set runAsNonRoot.
USER node
ENTRYPOINT ["node", "/app/bin/runbook.mjs"]
CMD ["--help"]
