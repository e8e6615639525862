# Production image: compiled JavaScript on Node 20, no dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
COPY scripts/console-api-types.mjs ./scripts/
# The server, then the web console (its API types generated from the server's OpenAPI document).
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
COPY bin ./bin
COPY schemas ./schemas
USER node
EXPOSE 8080
CMD ["node", "dist/main.js"]
