// The local mode's blob store: the file already is local, so download only checks it and hashes it (no
// copy; the SHA-256 keys the extraction cache, so a copied file is extracted once) and dispose leaves it alone.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, TooLargeError } from '../errors.ts';
import type { BlobStore, DownloadOptions, LocalFile, ObjectRef } from '../types.ts';
import { localVersionTag } from './directory-source.ts';

export class FileBlobStore implements BlobStore {
  async download(ref: ObjectRef, opts: DownloadOptions): Promise<LocalFile> {
    const st = await stat(ref.key).catch(() => undefined);
    if (!st || !st.isFile()) throw new NotFoundError(`no such file: ${ref.key}`);
    const tag = localVersionTag(st.size, st.mtimeMs);
    if (st.size > opts.maxBytes) throw new TooLargeError(st.size, opts.maxBytes);
    const hash = createHash('sha256');
    await pipeline(createReadStream(ref.key), hash, { signal: opts.signal });
    return { path: ref.key, size: st.size, etag: tag, lastModified: st.mtime, sha256: hash.digest('hex'), dispose: async () => {} };
  }

  async exists(ref: ObjectRef): Promise<boolean> {
    const st = await stat(ref.key).catch(() => undefined);
    return !!st?.isFile();
  }
}
