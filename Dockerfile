# Brook in a container: `docker build -t brook . && docker run -p 9092:9092 brook`
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY protocol ./protocol
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
VOLUME /data
EXPOSE 9092
ENTRYPOINT ["node", "dist/src/cli/main.js", "start", "--host", "0.0.0.0", "--data-dir", "/data"]
CMD ["--advertised-host", "localhost"]
