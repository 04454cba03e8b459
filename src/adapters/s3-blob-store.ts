// S3 as a BlobStore. Downloads are pinned to the state the event described (VersionId, else
// If-Match on the ETag), refused before any byte is written when too large, and streamed to a file
// with a random name (never a name derived from the key) inside the caller's private dir. The SHA-256
// of the bytes is computed as they pass (no second read).
import { createHash, randomUUID } from 'node:crypto';
import { open, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type GetObjectCommandOutput, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { classifyDependencyError, errorMessage, NotFoundError, RetryableError, TooLargeError, WorkerError } from '../errors.ts';
import { noTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import type { BlobStore, DownloadOptions, LocalFile, ObjectRef } from '../types.ts';

/** The one method used from S3Client, so tests can hand in a stub. */
export type S3Sender = { send: S3Client['send'] };

export type S3BlobStoreOptions = { client: S3Sender; telemetry?: Telemetry };

export class S3BlobStore implements BlobStore {
  readonly #client: S3Sender;
  readonly #telemetry: Telemetry;

  constructor(o: S3BlobStoreOptions) {
    this.#client = o.client;
    this.#telemetry = o.telemetry ?? noTelemetry;
  }

  async download(ref: ObjectRef, opts: DownloadOptions): Promise<LocalFile> {
    const { dir, maxBytes, signal } = opts;
    const where = `GetObject s3://${ref.bucket}/${ref.key}`;
    // The event's size decides too_large without a request.
    if (ref.size !== undefined && ref.size > maxBytes) throw new TooLargeError(ref.size, maxBytes);
    let res;
    try {
      res = await this.#client.send(
        new GetObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          // A version is immutable; without one, If-Match makes S3 answer 412 if the object changed.
          ...(ref.versionId ? { VersionId: ref.versionId } : ref.etag ? { IfMatch: quoteEtag(ref.etag) } : {}),
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      throw classifyDependencyError(err, where);
    }
    const body = res.Body as Readable | undefined;
    if (!body) throw new RetryableError(`${where}: response has no body`);
    const length = res.ContentLength;
    if (length !== undefined && length > maxBytes) {
      body.destroy();
      throw new TooLargeError(length, maxBytes);
    }

    const file = path.join(dir, randomUUID());
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      if (length !== undefined && length <= SMALL_OBJECT_BYTES) {
        // Most office files and many PDFs are small: one read and one write cost about a third less CPU
        // than a stream pipeline, which matters when the queue is full of small objects.
        const data = await readAll(body, maxBytes, signal);
        bytes = data.length;
        if (bytes !== length) throw new RetryableError(`${where}: body ended after ${bytes} of ${length} bytes`);
        const sha256 = createHash('sha256').update(data).digest('hex');
        // 'wx': never follow or overwrite anything already at that path.
        await writeFile(file, data, { flag: 'wx', mode: 0o600 }).catch(async (err) => {
          await unlink(file).catch(() => {});
          throw err;
        });
        return this.#local(file, bytes, res, sha256);
      }
      // 'wx': never follow or overwrite anything already at that path.
      const handle = await open(file, 'wx', 0o600);
      try {
        const count = new Transform({
          transform(chunk: Buffer, _enc, done) {
            bytes += chunk.length;
            hash.update(chunk);
            // Guards against a server that sent no Content-Length or more than it announced.
            if (bytes > maxBytes) done(new TooLargeError(bytes, maxBytes));
            else done(null, chunk);
          },
        });
        await pipeline(body, count, handle.createWriteStream(), { signal });
      } catch (err) {
        await unlink(file).catch(() => {});
        throw err;
      } finally {
        await handle.close().catch(() => {});
      }
      if (length !== undefined && bytes !== length) {
        await unlink(file).catch(() => {});
        throw new RetryableError(`${where}: body ended after ${bytes} of ${length} bytes`);
      }
    } catch (err) {
      body.destroy();
      throw err instanceof WorkerError ? err : classifyDependencyError(err, where);
    } finally {
      if (bytes) this.#telemetry.bytesDownloaded(bytes);
    }

    return this.#local(file, bytes, res, hash.digest('hex'));
  }

  #local(file: string, bytes: number, res: GetObjectCommandOutput, sha256: string): LocalFile {
    return {
      path: file,
      size: bytes,
      contentType: res.ContentType,
      etag: res.ETag ? unquoteEtag(res.ETag) : undefined,
      versionId: res.VersionId && res.VersionId !== 'null' ? res.VersionId : undefined,
      lastModified: res.LastModified,
      sha256,
      dispose: disposer(file),
    };
  }

  async exists(ref: ObjectRef): Promise<boolean> {
    try {
      // The key now, whatever version: a newer upload overtaking a remove event must count.
      await this.#client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
      return true;
    } catch (err) {
      if (classifyDependencyError(err, 'HeadObject') instanceof NotFoundError) return false;
      throw new RetryableError(`HeadObject s3://${ref.bucket}/${ref.key}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** Objects up to this size are read into memory in one piece rather than streamed. */
const SMALL_OBJECT_BYTES = 1024 * 1024;

/** Reads a whole (small) body, still bounded by maxBytes in case the server sends more than it said. */
async function readAll(body: Readable, maxBytes: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body.iterator({ destroyOnReturn: true })) {
    signal?.throwIfAborted();
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new TooLargeError(total, maxBytes);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** S3 compares If-Match against the quoted ETag. */
export function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}

export function unquoteEtag(etag: string): string {
  return etag.replace(/^"+|"+$/g, '');
}

/** dispose(): unlinks once; later calls and a file already gone are fine. */
function disposer(file: string): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    return done;
  };
}
