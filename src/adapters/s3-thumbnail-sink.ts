// Stores WebP thumbnails in S3 under a prefix, one object per document id.
import { CopyObjectCommand, DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ConfigError, classifyDependencyError } from '../errors.ts';
import { idAsFileName } from '../ids.ts';
import type { ThumbnailSink } from '../types.ts';
import type { S3Sender } from './s3-blob-store.ts';

export type S3ThumbnailSinkOptions = {
  /** The sink's own client: close() destroys it. */
  client: S3Sender & { destroy(): void };
  bucket: string;
  /** Key prefix; "thumbs" and "thumbs/" both mean the folder thumbs/. */
  prefix: string;
};

/** DeleteObjects takes at most this many keys a call. */
const DELETE_BATCH = 1000;

export class S3ThumbnailSink implements ThumbnailSink {
  readonly #client: S3Sender & { destroy(): void };
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(o: S3ThumbnailSinkOptions) {
    if (!o.bucket) throw new ConfigError('THUMBNAIL_URL', 's3:// needs a bucket');
    this.#client = o.client;
    this.#bucket = o.bucket;
    this.#prefix = o.prefix && !o.prefix.endsWith('/') ? `${o.prefix}/` : o.prefix;
  }

  async put(docId: string, webp: Uint8Array): Promise<string> {
    const key = this.#keyOf(docId);
    await this.#send(() => this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: webp, ContentType: 'image/webp' })), `PutObject s3://${this.#bucket}/${key}`);
    return `s3://${this.#bucket}/${key}`;
  }

  async copy(from: string, docId: string): Promise<string> {
    const key = this.#keyOf(docId);
    const to = `s3://${this.#bucket}/${key}`;
    // Only objects this sink wrote (same bucket and prefix): the copy is server-side, no bytes come here.
    const source = from.startsWith(`s3://${this.#bucket}/${this.#prefix}`) ? from.slice('s3://'.length) : undefined;
    if (!source) throw new ConfigError('THUMBNAIL_URL', `thumbnail ${from} is not under s3://${this.#bucket}/${this.#prefix}`);
    if (from === to) return to;
    const copySource = source.split('/').map(encodeURIComponent).join('/');
    await this.#send(() => this.#client.send(new CopyObjectCommand({ Bucket: this.#bucket, Key: key, CopySource: copySource, ContentType: 'image/webp', MetadataDirective: 'REPLACE' })), `CopyObject ${from} to ${to}`);
    return to;
  }

  async remove(docIds: string[]): Promise<void> {
    for (let i = 0; i < docIds.length; i += DELETE_BATCH) {
      const keys = docIds.slice(i, i + DELETE_BATCH).map((id) => ({ Key: this.#keyOf(id) }));
      const what = `DeleteObjects s3://${this.#bucket}/${this.#prefix} (${keys.length} thumbnails)`;
      const out = await this.#send(() => this.#client.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys, Quiet: true } })), what);
      // A key that is not there is deleted as far as S3 is concerned; any error here is a real one.
      const first = out.Errors?.[0];
      if (first) throw classifyDependencyError(Object.assign(new Error(`${first.Code ?? 'Error'}: ${first.Message ?? ''} (${first.Key})`), { name: first.Code ?? 'Error' }), `${what}: ${out.Errors!.length} not deleted`);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #keyOf(docId: string): string {
    return `${this.#prefix}${idAsFileName(docId)}.webp`;
  }

  async #send<T>(call: () => Promise<T>, what: string): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw classifyDependencyError(err, what);
    }
  }
}
