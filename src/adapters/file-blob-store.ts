// The local mode's blob store: the file already is local, so download only checks it (no copy) and
// dispose leaves it alone.
import { stat } from 'node:fs/promises';
import { NotFoundError, TooLargeError } from '../errors.ts';
import type { BlobStore, DownloadOptions, LocalFile, ObjectRef } from '../types.ts';
import { localVersionTag } from './directory-source.ts';

export class FileBlobStore implements BlobStore {
  async download(ref: ObjectRef, opts: DownloadOptions): Promise<LocalFile> {
    const st = await stat(ref.key).catch(() => undefined);
    if (!st || !st.isFile()) throw new NotFoundError(`no such file: ${ref.key}`);
    const tag = localVersionTag(st.size, st.mtimeMs);
    if (st.size > opts.maxBytes) throw new TooLargeError(st.size, opts.maxBytes);
    return { path: ref.key, size: st.size, etag: tag, lastModified: st.mtime, dispose: async () => {} };
  }

  async exists(ref: ObjectRef): Promise<boolean> {
    const st = await stat(ref.key).catch(() => undefined);
    return !!st?.isFile();
  }
}
