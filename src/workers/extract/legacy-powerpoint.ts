// PowerPoint 97–2003 (.ppt) to text: the "PowerPoint Document" stream of the OLE2 container is a tree
// of records ([MS-PPT] 2.3.1); slide, notes, master and text-box text sits in TextCharsAtom (UTF-16) and
// TextBytesAtom (8-bit) records, comments in CString atoms of Comment10 containers. The tree is walked
// in file order; text kept by an incremental save appears once (exact repeats are dropped). Master
// title/body placeholders are skipped (their text is the "click to edit" prompt, in any language).
import type { DocMetadata } from '../../types.ts';
import { EncryptedDocumentError } from './encrypted.ts';
import { openCompound, rootStream, summaryMetadata } from './ole2.ts';
import { latin1, utf16 } from './ole2.ts';

export type PresentationText = { text: string; slides: number; metadata?: DocMetadata; truncated: boolean };

const TEXT_CHARS_ATOM = 0x0fa0;
const TEXT_BYTES_ATOM = 0x0fa8;
const CSTRING = 0x0fba;
const COMMENT10 = 0x2ee0;
const SLIDE_LIST_WITH_TEXT = 0x0ff0;
const SLIDE_PERSIST_ATOM = 0x03f3;
const CRYPT_SESSION10 = 0x2f14;
const MAIN_MASTER = 0x03f8;
const SHAPE_CONTAINER = 0xf004;
const PLACEHOLDER_ATOM = 0x0bc3;
/**
 * Master placeholders whose text is PowerPoint's prompt in the user's language ("Click to edit Master
 * title style", "マスター タイトルの書式設定"): title, body, centered title, subtitle, notes image and
 * body, slide number ([MS-PPT] 2.13.21). Footer, header and date placeholders keep their text.
 */
const PROMPT_PLACEHOLDERS = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08]);
/** Containers nest a few levels (document > slide > drawing > group > shape > text box); more is a crafted file. */
const MAX_DEPTH = 32;

/** The English prompts, for masters whose placeholders carry no placement id (old writers). */
const MASTER_PROMPTS = new Set([
  'Click to edit Master title style', 'Click to edit Master text styles', 'Click to edit Master subtitle style',
  'Second level', 'Third level', 'Fourth level', 'Fifth level', '*',
]);

/** Reads a .ppt file's bytes. Throws EncryptedDocumentError for a password-protected presentation. */
export function presentationText(bytes: Uint8Array, maxChars: number): PresentationText {
  const cfb = openCompound(bytes);
  const summary = summaryMetadata(cfb);
  const stream = rootStream(cfb, 'PowerPoint Document');
  if (rootStream(cfb, 'EncryptedSummary')) throw encrypted(summary.metadata);
  if (!stream) throw new Error('not a PowerPoint presentation (no PowerPoint Document stream)');
  const seen = new Set<string>();
  const parts: string[] = [];
  let length = 0;
  let slides = 0;
  let truncated = false;

  const add = (raw: string) => {
    const text = raw.replace(/\u0000/g, '').split(/[\r\n\u000b]/).filter((line) => !MASTER_PROMPTS.has(line.trim())).join('\n').trim();
    if (!text || seen.has(text) || truncated) return;
    seen.add(text);
    parts.push(text);
    length += text.length + 1;
    if (length > maxChars) truncated = true;
  };

  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  /** The placement id of the first OEPlaceholderAtom in a shape, or undefined. */
  const placeholderOf = (start: number, end: number, depth: number): number | undefined => {
    for (let p = start; p + 8 <= end; ) {
      const verInst = v.getUint16(p, true);
      const type = v.getUint16(p + 2, true);
      const len = v.getUint32(p + 4, true);
      if (type === PLACEHOLDER_ATOM && p + 13 <= end) return stream[p + 8 + 4];
      if ((verInst & 0x0f) === 0x0f && depth < MAX_DEPTH) {
        const found = placeholderOf(p + 8, Math.min(end, p + 8 + len), depth + 1);
        if (found !== undefined) return found;
      }
      p += 8 + len;
    }
    return undefined;
  };

  const walk = (start: number, end: number, depth: number, parent: number, parentInstance: number, inMaster = false) => {
    let p = start;
    while (p + 8 <= end && !truncated) {
      const verInst = v.getUint16(p, true);
      const type = v.getUint16(p + 2, true);
      const len = v.getUint32(p + 4, true);
      const bodyEnd = Math.min(end, p + 8 + len);
      const body = stream.subarray(p + 8, bodyEnd);
      if (type === CRYPT_SESSION10) throw encrypted(summary.metadata);
      if ((verInst & 0x0f) === 0x0f) {
        const promptShape = inMaster && type === SHAPE_CONTAINER && PROMPT_PLACEHOLDERS.has(placeholderOf(p + 8, bodyEnd, depth + 1) ?? -1);
        if (depth < MAX_DEPTH && !promptShape) walk(p + 8, bodyEnd, depth + 1, type, verInst >> 4, inMaster || type === MAIN_MASTER);
      } else if (type === TEXT_CHARS_ATOM) {
        add(utf16(body));
      } else if (type === TEXT_BYTES_ATOM) {
        add(latin1(body));
      } else if (type === CSTRING && parent === COMMENT10 && verInst >> 4 === 1) {
        add(utf16(body));
      } else if (type === SLIDE_PERSIST_ATOM && parent === SLIDE_LIST_WITH_TEXT && parentInstance === 0) {
        slides++;
      }
      if (len === 0 && bodyEnd === p + 8 && p + 8 >= end) break;
      p = p + 8 + len;
    }
  };
  walk(0, stream.length, 0, 0, 0);
  return {
    text: parts.join('\n'),
    // Each incremental save repeats the slide list: the summary's count is the current one when present.
    slides: summary.slides ?? slides,
    truncated,
    ...(summary.metadata ? { metadata: summary.metadata } : {}),
  };
}

function encrypted(metadata: DocMetadata | undefined): EncryptedDocumentError {
  return new EncryptedDocumentError('the presentation is password-protected', metadata ? { metadata } : {});
}


