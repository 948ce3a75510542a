# The Tidemark worker image (used by docker-compose.yml's `worker` service).
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false
COPY . .
USER node
CMD ["npm", "run", "worker"]
