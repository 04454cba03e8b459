// Stores WebP thumbnails in S3 under a prefix, one object per document id.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ConfigError, classifyDependencyError } from '../errors.ts';
import type { ThumbnailSink } from '../types.ts';
import type { S3Sender } from './s3-blob-store.ts';

export type S3ThumbnailSinkOptions = {
  client: S3Sender;
  bucket: string;
  /** Key prefix; "thumbs" and "thumbs/" both mean the folder thumbs/. */
  prefix: string;
};

export class S3ThumbnailSink implements ThumbnailSink {
  readonly #client: S3Sender;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(o: S3ThumbnailSinkOptions) {
    if (!o.bucket) throw new ConfigError('THUMBNAIL_URL', 's3:// needs a bucket');
    this.#client = o.client;
    this.#bucket = o.bucket;
    this.#prefix = o.prefix && !o.prefix.endsWith('/') ? `${o.prefix}/` : o.prefix;
  }

  async put(docId: string, webp: Uint8Array): Promise<string> {
    // Ids are hex hashes (src/ids.ts); anything else must not be able to climb out of the prefix.
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(docId)) throw new TypeError(`S3ThumbnailSink: unexpected document id ${JSON.stringify(docId)}`);
    const key = `${this.#prefix}${docId}.webp`;
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: webp, ContentType: 'image/webp' }));
    } catch (err) {
      throw classifyDependencyError(err, `PutObject s3://${this.#bucket}/${key}`);
    }
    return `s3://${this.#bucket}/${key}`;
  }
}
