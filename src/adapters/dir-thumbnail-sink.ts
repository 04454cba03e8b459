// Thumbnails in a local folder, named by document id.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ThumbnailSink } from '../types.ts';

export class DirThumbnailSink implements ThumbnailSink {
  readonly dir: string;
  #made = false;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  async put(docId: string, webp: Uint8Array): Promise<string> {
    if (!this.#made) {
      await mkdir(this.dir, { recursive: true });
      this.#made = true;
    }
    const path = join(this.dir, `${docId}.webp`);
    await writeFile(path, webp);
    return path;
  }
}
