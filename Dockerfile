# The cm worker (and CLI) as an image. Workflows are bundled at build time so workers start fast.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json \
 && node -e "require('@temporalio/worker').bundleWorkflowCode({workflowsPath: require.resolve('./dist/workflows')}).then(b => require('fs').writeFileSync('dist/workflow-bundle.js', b.code))"

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production CM_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
# Upgrade steps are read by the worker (SQL files; TypeScript steps run from dist/upgrades).
COPY upgrades ./upgrades
USER node
ENTRYPOINT ["node", "bin/cm.js"]
CMD ["worker"]
