# Switchboard: one image, the role on the command line (api | worker | sandbox | all).
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: the image's own Node 24 runs the code (the pinned `node` devDependency is for dev machines).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY providers ./providers
COPY config ./config
COPY bin ./bin
USER node
EXPOSE 3000 3100 9464
ENTRYPOINT ["node", "src/cli.ts"]
CMD ["all"]
