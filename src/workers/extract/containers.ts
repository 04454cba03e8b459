// Files that hold other files: e-mail (.eml, .msg) with attachments and .zip archives. Each entry is
// read like any file (detected by its bytes, then its name) and its text is folded into the container's
// own document under a "=== name ===" line. Folding, not one document per entry: the pipeline handles
// one job as one document (one id, one S3 version, one sequencer, one delete), so entries indexed as
// their own documents would need ids that outlive their container's updates and deletes; a search for
// an attachment's words or name finds its mail or archive, which is what a user opens anyway.
//
// Bounds (document-bounds.ts): the zip-bomb guard first; entries inflated one at a time (each at most
// maxEntryBytes and never past what it declares, the archive's total at most the zip bound's
// maxInflatedBytes); at most maxEntriesRead entries; containers nest maxNesting deep (a zip in a zip is
// read, a zip in that is named only); one text budget and one deadline for the whole container.
// Images inside are named, not OCR'd.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DocMetadata, DocStatus, ExtractLimits, ExtractResult } from '../../types.ts';
import { readZipEntry, zipEntries } from './archive.ts';
import { detectKindFromBytes } from './detect.ts';
import type { FileKind } from './detect.ts';
import { DEFAULT_DOCUMENT_BOUNDS } from './document-bounds.ts';
import type { DocumentBounds } from './document-bounds.ts';
import { readEml, readMsg } from './mail.ts';
import type { Attachment } from './mail.ts';
import { Deadline, Problems, TextBudget } from './result.ts';
import { zipBombReason } from './zip-guard.ts';

export type ContainerKind = 'eml' | 'msg' | 'zip';
export const CONTAINER_KINDS: ReadonlySet<FileKind> = new Set<FileKind>(['eml', 'msg', 'zip']);


/** Reads one entry (a temp file) as the worker reads any file, one level deeper. */
export type ReadEntry = (path: string, name: string, limits: ExtractLimits, depth: number) => Promise<ExtractResult>;

/** An entry whose bytes are produced only when it is its turn (one inflated entry in memory at a time). */
type Entry = { name: string; load?: () => Uint8Array };

export async function extractContainer(
  path: string,
  kind: ContainerKind,
  opts: { limits: ExtractLimits; deadline: Deadline; depth: number; read: ReadEntry; bounds?: DocumentBounds },
): Promise<Omit<ExtractResult, 'contentType'>> {
  const { limits, deadline, depth } = opts;
  const bounds = opts.bounds ?? DEFAULT_DOCUMENT_BOUNDS;
  const { maxEntriesRead, maxEntryBytes, maxNesting } = bounds.containers;
  const bytes = await readFile(path);
  if (bytes.length === 0) return failed('the file is empty (0 bytes)');

  const problems = new Problems();
  let own = '';
  let metadata: DocMetadata | undefined;
  let entries: Entry[];
  if (kind === 'zip') {
    const bomb = zipBombReason(bytes, bounds.zip);
    if (bomb) return failed(`refused: ${bomb}`);
    const listed = zipEntries(bytes);
    if (listed.length === 0) return failed('not a readable zip archive (no central directory, or no files in it)');
    if (listed.every((e) => e.encrypted)) {
      // The names are not encrypted: they are what can be searched.
      const names = listed.map((e) => `=== ${e.name} ===`).join('\n');
      return { text: names, truncated: false, pages: listed.length, ocrPages: 0, status: 'encrypted', error: 'every entry of the zip archive is password-protected' };
    }
    let inflated = 0;
    entries = listed.map((e, i) => i >= maxEntriesRead ? { name: e.name } : {
      name: e.name,
      load: () => {
        const data = readZipEntry(bytes, e, Math.min(maxEntryBytes, bounds.zip.maxInflatedBytes - inflated));
        inflated += data.length;
        return data;
      },
    });
    if (listed.length > maxEntriesRead) problems.add(`only the first ${maxEntriesRead} of ${listed.length} entries are read`);
  } else {
    const mail = kind === 'eml' ? await readEml(bytes) : await readMsg(bytes);
    own = mail.text;
    metadata = mail.metadata;
    entries = mail.attachments.map((a: Attachment) => ({ name: a.name, load: () => a.bytes }));
  }

  const budget = new TextBudget(limits.maxChars);
  let ocrPages = 0;
  budget.add(own);
  const dir = await mkdtemp(join(tmpdir(), 'filesearch-entries-'));
  try {
    for (const [i, entry] of entries.entries()) {
      if (budget.truncated) break;
      if (deadline.passed) {
        problems.add(`document deadline of ${limits.docTimeoutMs} ms reached after ${i} of ${entries.length} entries`);
        break;
      }
      const header = `=== ${entry.name} ===`;
      let data: Uint8Array | undefined;
      try {
        data = entry.load?.();
      } catch (err) {
        problems.add(`${entry.name}: ${(err as Error).message}`);
      }
      if (!data || data.length === 0) {
        budget.add(header);
        continue;
      }
      const childKind = detectKindFromBytes(data, entry.name);
      if (childKind === 'image' || childKind === 'unknown' || (CONTAINER_KINDS.has(childKind) && depth + 1 >= maxNesting)) {
        // Named only: images would need OCR, unknown files hold nothing readable, deeper nesting is refused.
        budget.add(header);
        continue;
      }
      const file = join(dir, `${i}`);
      await writeFile(file, data);
      data = undefined;
      const r = await opts.read(file, entry.name, { ...limits, maxChars: Math.max(1, limits.maxChars - budget.text.length), docTimeoutMs: Math.max(1, deadline.remaining) }, depth + 1);
      await rm(file, { force: true });
      ocrPages += r.ocrPages;
      budget.add(r.text ? `${header}\n${r.text}` : header);
      if (r.status !== 'ok' && r.status !== 'unsupported') problems.add(`${entry.name}: ${r.error ?? r.status}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (budget.truncated) problems.add(`text cut at the limit of ${limits.maxChars} characters`);
  const status: DocStatus = problems.any ? 'partial' : 'ok';
  return {
    text: budget.text,
    truncated: budget.truncated,
    pages: kind === 'zip' ? entries.length : 1,
    ocrPages,
    status,
    ...(problems.message ? { error: problems.message } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

function failed(error: string): Omit<ExtractResult, 'contentType'> {
  return { text: '', truncated: false, pages: 0, ocrPages: 0, status: 'failed', error };
}
