// Thumbnails in a local folder, named by document id.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { idAsFileName } from '../ids.ts';
import type { ThumbnailSink } from '../types.ts';

export class DirThumbnailSink implements ThumbnailSink {
  readonly dir: string;
  #made = false;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(docId: string, webp: Uint8Array): Promise<string> {
    const path = await this.#pathFor(docId);
    await writeFile(path, webp);
    return path;
  }

  async copy(from: string, docId: string): Promise<string> {
    // Only files this sink wrote: a document's thumbnail never points outside the folder.
    if (dirname(resolve(from)) !== this.dir) throw new Error(`thumbnail ${from} is not in ${this.dir}`);
    const path = await this.#pathFor(docId);
    if (resolve(from) !== path) await copyFile(from, path);
    return path;
  }

  async remove(docIds: string[]): Promise<void> {
    for (const id of docIds) await rm(join(this.dir, `${idAsFileName(id)}.webp`), { force: true });
  }

  /** Nothing stays open between calls. */
  async close(): Promise<void> {}

  async #pathFor(docId: string): Promise<string> {
    if (!this.#made) {
      await mkdir(this.dir, { recursive: true });
      this.#made = true;
    }
    return join(this.dir, `${idAsFileName(docId)}.webp`);
  }
}

