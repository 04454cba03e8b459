# syntax=docker/dockerfile:1
# filesearch-worker container: the SQS consumer (`node bin/filesearch-worker.js run`) on Node 24, non-root
# (numeric uid 1000, so Kubernetes runAsNonRoot can verify it), with tini as PID 1 so SIGTERM reaches Node
# and the pipeline drains; the bin is plain JavaScript, so it hears a SIGTERM even while TypeScript loads.
# OCR runs on Debian's tesseract CLI (OCR_ENGINE=auto picks it); the WASM fallback reads the tessdata_fast
# models shipped in models/ and the best_int/osd data in node_modules/@tesseract.js-data, so nothing
# downloads at run time.
#
#   docker build -t filesearch-worker .
#   docker run --read-only --tmpfs /tmp:rw,size=2g -p 9464:9464 --env-file worker.env filesearch-worker
#
# See docs/operations.md for the environment, IAM permissions and sizing.

# --- dependencies: production only -------------------------------------------------------------------
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# sharp and @napi-rs/canvas ship prebuilt binaries as optional packages for this platform (linux x64 or
# arm64, glibc), so no dependency needs an install script; --ignore-scripts keeps third-party scripts out.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------------
FROM node:24-slim AS runtime
LABEL org.opencontainers.image.title="filesearch-worker" \
      org.opencontainers.image.description="Makes a company's files searchable: S3 events on SQS -> download -> extract (pdf.js, tesseract.js OCR) -> index (OpenSearch or SQLite)." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.documentation="docs/operations.md" \
      org.opencontainers.image.base.name="docker.io/library/node:24-slim"
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert libjemalloc2 \
 && rm -rf /var/lib/apt/lists/*

# TMPDIR holds downloads while they are extracted: mount a tmpfs or a volume there so the root file
# system can be read-only (docker run --read-only --tmpfs /tmp; ECS: readonlyRootFilesystem + a volume).
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    METRICS_PORT=9464
# malloc and V8 heap settings: read at process start, so they are set here (src/config.ts PROCESS_ENV
# lists them and why; test/deploy-files.test.ts keeps the two in step). Two malloc arenas instead of 8 per
# core; blocks from 32 KiB up mapped on their own, so freed buffers go back to the system at once; V8
# semi-spaces of 4 MB (the main thread's young generation otherwise grows to 64 MB).
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=32768 \
    NODE_OPTIONS=--max-semi-space-size=4
# jemalloc instead of glibc's malloc (src/config.ts JEMALLOC_ENV): freed pages go back to the system within
# a second; the glibc settings above are then unused, kept for a process started without the preload.
ENV LD_PRELOAD=libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0

WORKDIR /app
# Code and dependencies stay owned by root: the worker user can read but not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY models ./models
# Node's compile cache, filled at build time with every module compiled and every .ts file stripped: no
# thread of the worker loads the TypeScript stripper (~17 MB less) and it starts sooner. Read-only at run
# time is fine (Node then only reads it).
COPY scripts/fill-compile-cache.ts ./scripts/
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
RUN node scripts/fill-compile-cache.ts
# The embedded SQLite default (INDEX_URL=sqlite:./data/index.db) writes here; mount a volume to keep it.
RUN mkdir -p /app/data && chown 1000:1000 /app/data

# The official image's unprivileged user `node`, by number: runAsNonRoot cannot resolve a name.
USER 1000:1000

EXPOSE 9464

# /healthz: the process and its event loop are alive. node itself is the probe (slim has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.METRICS_PORT || 9464) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/filesearch-worker.js"]
CMD ["run"]
