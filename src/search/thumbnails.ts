// Where a document's thumbnail can be fetched from: a file inside the thumbnail folder, or a
// short-lived presigned GET for an object under the THUMBNAIL_URL prefix. Anything else the index
// names is refused: the server never reads a file, or signs an object, that the index merely points at.
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { IndexDocument } from '../types.ts';

export type ThumbnailLocation = { kind: 'file'; path: string; size: number } | { kind: 'redirect'; url: string };

export interface ThumbnailResolver {
  locate(doc: IndexDocument): Promise<ThumbnailLocation | undefined>;
  /** Origins the page must be allowed to load images from (for the Content-Security-Policy). */
  readonly imageOrigins: string[];
}

export class DirThumbnails implements ThumbnailResolver {
  readonly dir: string;
  readonly imageOrigins: string[] = [];
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  async locate(doc: IndexDocument): Promise<ThumbnailLocation | undefined> {
    if (!doc.thumbnail || doc.thumbnail.startsWith('s3://')) return undefined;
    const path = resolve(doc.thumbnail);
    if (!path.startsWith(this.dir + sep) || !path.endsWith('.webp')) return undefined;
    try {
      const st = await stat(path);
      return st.isFile() ? { kind: 'file', path, size: st.size } : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Signs GET requests; in production `getSignedUrl` of @aws-sdk/s3-request-presigner. */
export type Presign = (bucket: string, key: string, expiresInSeconds: number) => Promise<string>;

export class S3Thumbnails implements ThumbnailResolver {
  readonly imageOrigins: string[];
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #presign: Presign;
  readonly #ttl: number;
  constructor(o: { bucket: string; prefix: string; presign: Presign; expiresInSeconds: number; origin: string }) {
    this.#bucket = o.bucket;
    this.#prefix = o.prefix && !o.prefix.endsWith('/') ? `${o.prefix}/` : o.prefix;
    this.#presign = o.presign;
    this.#ttl = o.expiresInSeconds;
    this.imageOrigins = [o.origin];
  }
  async locate(doc: IndexDocument): Promise<ThumbnailLocation | undefined> {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(doc.thumbnail ?? '');
    if (!m || m[1] !== this.#bucket || !m[2]!.startsWith(this.#prefix) || m[2]!.includes('..')) return undefined;
    return { kind: 'redirect', url: await this.#presign(this.#bucket, m[2]!, this.#ttl) };
  }
}

export const noThumbnails: ThumbnailResolver = { imageOrigins: [], locate: async () => undefined };
