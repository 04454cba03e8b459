// src/workers/extract/: one reader per format family (pdf, image, documents) plus detection and the
// text helpers (result.ts); all run inside a pool thread.
//
// File type detection: the bytes decide first, the extension second, the declared content type last.
// A file whose extension lies is detected by what it holds; containers (zip, OLE2) are opened just far
// enough to tell their flavours apart.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isNetpbm } from './netpbm.ts';

export type FileKind =
  | 'pdf' | 'image' | 'text' | 'markdown' | 'csv' | 'html'
  | 'docx' | 'xlsx' | 'pptx' | 'odt' | 'ods' | 'odp'
  | 'rtf' | 'doc' | 'xls' | 'ppt'
  | 'eml' | 'msg' | 'zip' | 'docuworks' | 'unknown';

/** Bytes read from the start of the file for sniffing. */
const HEAD_BYTES = 8192;
/** The zip end-of-central-directory record sits within the last 64 KiB + 22 bytes. */
const ZIP_TAIL_BYTES = 65_557;
/** Bound on the zip central directory read to list entry names. */
const ZIP_CD_MAX_BYTES = 4 * 1024 * 1024;

const EXT_KIND: Readonly<Record<string, FileKind>> = {
  pdf: 'pdf',
  jpg: 'image', jpeg: 'image', jpe: 'image', jfif: 'image', png: 'image', gif: 'image', bmp: 'image', dib: 'image',
  tif: 'image', tiff: 'image', webp: 'image',
  txt: 'text', text: 'text', log: 'text', json: 'text', xml: 'text',
  md: 'markdown', markdown: 'markdown',
  csv: 'csv', tsv: 'csv',
  html: 'html', htm: 'html', xhtml: 'html',
  docx: 'docx', docm: 'docx', dotx: 'docx', dotm: 'docx',
  xlsx: 'xlsx', xlsm: 'xlsx', xltx: 'xlsx', xltm: 'xlsx',
  pptx: 'pptx', pptm: 'pptx', potx: 'pptx', ppsx: 'pptx',
  odt: 'odt', ott: 'odt', ods: 'ods', ots: 'ods', odp: 'odp', otp: 'odp',
  rtf: 'rtf',
  doc: 'doc', dot: 'doc', xls: 'xls', xlt: 'xls', ppt: 'ppt', pps: 'ppt', pot: 'ppt',
  eml: 'eml', msg: 'msg', zip: 'zip', xdw: 'docuworks', xbd: 'docuworks',
};

const MIME_KIND: Readonly<Record<string, FileKind>> = {
  'application/pdf': 'pdf',
  'text/plain': 'text', 'text/markdown': 'markdown', 'text/x-markdown': 'markdown',
  'text/csv': 'csv', 'text/tab-separated-values': 'csv', 'text/html': 'html', 'application/xhtml+xml': 'html',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'application/vnd.oasis.opendocument.text': 'odt',
  'application/vnd.oasis.opendocument.spreadsheet': 'ods',
  'application/vnd.oasis.opendocument.presentation': 'odp',
  'application/rtf': 'rtf', 'text/rtf': 'rtf',
  'application/msword': 'doc', 'application/vnd.ms-excel': 'xls', 'application/vnd.ms-powerpoint': 'ppt',
  'message/rfc822': 'eml', 'application/vnd.ms-outlook': 'msg', 'application/zip': 'zip', 'application/x-zip-compressed': 'zip',
  'application/vnd.fujixerox.docuworks': 'docuworks', 'application/vnd.fujixerox.docuworks.binder': 'docuworks',
};

const KIND_MIME: Readonly<Record<Exclude<FileKind, 'image'>, string>> = {
  pdf: 'application/pdf', text: 'text/plain', markdown: 'text/markdown', csv: 'text/csv', html: 'text/html',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation', rtf: 'application/rtf',
  doc: 'application/msword', xls: 'application/vnd.ms-excel', ppt: 'application/vnd.ms-powerpoint',
  eml: 'message/rfc822', msg: 'application/vnd.ms-outlook', zip: 'application/zip',
  docuworks: 'application/vnd.fujixerox.docuworks',
  unknown: 'application/octet-stream',
};

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'tiff' | 'bmp' | 'webp' | 'pnm';

const IMAGE_EXT_FORMAT: Readonly<Record<string, ImageFormat>> = {
  jpg: 'jpeg', jpeg: 'jpeg', jpe: 'jpeg', jfif: 'jpeg', png: 'png', gif: 'gif', bmp: 'bmp', dib: 'bmp',
  tif: 'tiff', tiff: 'tiff', webp: 'webp', pbm: 'pnm', pgm: 'pnm', ppm: 'pnm', pnm: 'pnm',
};

/** MIME types that are not image/<format>. */
const IMAGE_FORMAT_MIME: Partial<Record<ImageFormat, string>> = { pnm: 'image/x-portable-anymap' };

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Image format from the magic bytes, or undefined. */
export function imageFormatOf(head: Uint8Array): ImageFormat | undefined {
  const b = head;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 4) === 'GIF8') return 'gif';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff'; // BigTIFF
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (ascii(b, 0, 2) === 'BM' && b.length >= 18) {
    // BITMAPFILEHEADER then a DIB header whose size is one of the known values.
    const dib = b[14]! | (b[15]! << 8) | (b[16]! << 16) | (b[17]! << 24);
    if ([12, 40, 52, 56, 64, 108, 124].includes(dib)) return 'bmp';
  }
  if (isNetpbm(b)) return 'pnm';
  return undefined;
}

/** MIME type for a detected kind; images are refined by their format (from bytes when given, else the name). */
export function contentTypeOf(kind: FileKind, name: string, imageFormat?: ImageFormat): string {
  if (kind === 'image') {
    const fmt = imageFormat ?? IMAGE_EXT_FORMAT[extensionOf(name)];
    return fmt ? (IMAGE_FORMAT_MIME[fmt] ?? `image/${fmt}`) : 'application/octet-stream';
  }
  return KIND_MIME[kind];
}

/** Detects a file's kind from its content, then its name, then the declared content type. */
export async function detectKind(path: string, name: string, contentType?: string): Promise<FileKind> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = await readAt(fh, 0, Math.min(HEAD_BYTES, size));
    return await kindFromContent(fh, size, head, name, contentType);
  } finally {
    await fh.close();
  }
}

/** Detection on bytes already in memory (the whole file or its head); zip flavours read from it too. */
export function detectKindFromBytes(bytes: Uint8Array, name: string, contentType?: string): FileKind {
  const ext = extensionOf(name);
  const sniffed = sniffHead(bytes, ext);
  if (sniffed === 'zip') return zipKind(zipEntryNamesFromBuffer(bytes), bytes, ext);
  if (sniffed === 'ole2') return ole2Kind(bytes, ext);
  if (sniffed) return sniffed;
  return byNameOrType(ext, contentType, looksLikeText(bytes));
}

async function kindFromContent(fh: FileHandle, size: number, head: Uint8Array, name: string, contentType?: string): Promise<FileKind> {
  const ext = extensionOf(name);
  const sniffed = sniffHead(head, ext);
  if (sniffed === 'zip') return zipKind(await zipEntryNames(fh, size, head), head, ext);
  if (sniffed === 'ole2') {
    const dir = await ole2DirectoryBytes(fh, head);
    return ole2Kind(dir, ext);
  }
  if (sniffed) return sniffed;
  return byNameOrType(ext, contentType, looksLikeText(head));
}

type Sniffed = FileKind | 'zip' | 'ole2' | undefined;

function sniffHead(head: Uint8Array, ext: string): Sniffed {
  if (imageFormatOf(head)) return 'image';
  // pdf.js accepts a header anywhere in the first KiB (junk before %PDF is common).
  if (indexOfAscii(head.subarray(0, 1024), '%PDF-') >= 0) return 'pdf';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'ole2';
  const text = decodeHeadText(head);
  if (text === undefined) return undefined;
  const start = text.replace(/^\s+/, '');
  if (start.startsWith('{\\rtf')) return 'rtf';
  if (looksLikeHtml(start)) return ext === 'md' || ext === 'markdown' ? 'markdown' : 'html';
  return undefined;
}

function byNameOrType(ext: string, contentType: string | undefined, isText: boolean): FileKind {
  const byExt = EXT_KIND[ext];
  const mime = contentType?.split(';')[0]!.trim().toLowerCase();
  const byMime = mime ? (MIME_KIND[mime] ?? (mime.startsWith('text/') ? 'text' : undefined)) : undefined;
  if (isText) {
    // Text content: only a text-family name or type may refine it; a binary name on text is a lie.
    for (const k of [byExt, byMime]) if (k === 'markdown' || k === 'csv' || k === 'html' || k === 'text' || k === 'eml') return k;
    return 'text';
  }
  // Unrecognised binary: a binary family name lets its parser try (and fail with a reason).
  for (const k of [byExt, byMime]) if (k && !TEXTUAL.has(k) && k !== 'image') return k;
  return 'unknown';
}

/** Office formats that are zip containers. */
export const ZIP_KINDS: ReadonlySet<FileKind> = new Set<FileKind>(['docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp']);
const TEXTUAL: ReadonlySet<FileKind> = new Set<FileKind>(['text', 'markdown', 'csv', 'html', 'rtf']);

// ---- zip containers ----

function zipKind(names: string[], head: Uint8Array, ext: string): FileKind {
  // ODF: the first entry is an uncompressed "mimetype" whose bytes follow its local header.
  const mimetype = odfMimetype(head);
  if (mimetype) {
    if (mimetype.includes('opendocument.text')) return 'odt';
    if (mimetype.includes('opendocument.spreadsheet')) return 'ods';
    if (mimetype.includes('opendocument.presentation')) return 'odp';
  }
  const has = (prefix: string) => names.some((n) => n.startsWith(prefix));
  if (has('word/')) return 'docx';
  if (has('xl/')) return 'xlsx';
  if (has('ppt/')) return 'pptx';
  if (names.includes('content.xml') && names.includes('mimetype')) {
    const byExt = EXT_KIND[ext];
    if (byExt === 'odt' || byExt === 'ods' || byExt === 'odp') return byExt;
  }
  // A damaged zip that claims to be an office file: let that parser report what is wrong.
  const byExt = EXT_KIND[ext];
  if (byExt && ZIP_KINDS.has(byExt)) return byExt;
  // Any other zip is an archive whose entries are read one by one (EPUB, JAR... included).
  return 'zip';
}

function odfMimetype(head: Uint8Array): string | undefined {
  if (!startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || head.length < 30) return undefined;
  const nameLen = u16(head, 26);
  const extraLen = u16(head, 28);
  if (ascii(head, 30, nameLen) !== 'mimetype') return undefined;
  const method = u16(head, 8);
  if (method !== 0) return undefined;
  const size = Math.min(u32(head, 18), 200);
  return ascii(head, 30 + nameLen + extraLen, size);
}

async function zipEntryNames(fh: FileHandle, size: number, head: Uint8Array): Promise<string[]> {
  const tailStart = Math.max(0, size - ZIP_TAIL_BYTES);
  const tail = await readAt(fh, tailStart, size - tailStart);
  const eocd = findEocd(tail);
  if (eocd >= 0) {
    const cdSize = u32(tail, eocd + 12);
    const cdOffset = u32(tail, eocd + 16);
    if (cdOffset + cdSize <= size && cdSize <= ZIP_CD_MAX_BYTES) {
      return centralDirectoryNames(await readAt(fh, cdOffset, cdSize));
    }
  }
  // No usable central directory (truncated or zip64): walk the local headers we have.
  return localHeaderNames(head);
}

function zipEntryNamesFromBuffer(buf: Uint8Array): string[] {
  const tail = buf.subarray(Math.max(0, buf.length - ZIP_TAIL_BYTES));
  const eocd = findEocd(tail);
  if (eocd >= 0) {
    const cdSize = u32(tail, eocd + 12);
    const cdOffset = u32(tail, eocd + 16);
    if (cdOffset + cdSize <= buf.length) return centralDirectoryNames(buf.subarray(cdOffset, cdOffset + cdSize));
  }
  return localHeaderNames(buf);
}

function findEocd(tail: Uint8Array): number {
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) return i;
  }
  return -1;
}

function centralDirectoryNames(cd: Uint8Array): string[] {
  const names: string[] = [];
  let p = 0;
  while (p + 46 <= cd.length && u32(cd, p) === 0x02014b50) {
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    names.push(utf8(cd.subarray(p + 46, p + 46 + nameLen)));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

function localHeaderNames(buf: Uint8Array): string[] {
  const names: string[] = [];
  let p = 0;
  while (p + 30 <= buf.length && u32(buf, p) === 0x04034b50) {
    const flags = u16(buf, p + 6);
    const compSize = u32(buf, p + 18);
    const nameLen = u16(buf, p + 26);
    const extraLen = u16(buf, p + 28);
    names.push(utf8(buf.subarray(p + 30, p + 30 + nameLen)));
    if (flags & 0x08) break; // sizes follow the data: cannot skip without inflating
    p += 30 + nameLen + extraLen + compSize;
  }
  return names;
}

// ---- OLE2 (legacy Office) ----

/** Reads the first directory sectors of a compound file, where the stream names live. */
async function ole2DirectoryBytes(fh: FileHandle, head: Uint8Array): Promise<Uint8Array> {
  if (head.length < 512) return head;
  const sectorShift = u16(head, 30);
  const sectorSize = sectorShift === 12 ? 4096 : 512;
  const firstDirSector = u32(head, 48);
  if (firstDirSector >= 0xfffffffa) return head;
  return readAt(fh, (firstDirSector + 1) * sectorSize, 8 * sectorSize);
}

function ole2Kind(dir: Uint8Array, ext: string): FileKind {
  // Stream names compare case-insensitively; some writers store them upper-cased.
  const has = (name: string) => indexOfUtf16(dir, name) >= 0 || indexOfUtf16(dir, name.toUpperCase()) >= 0;
  if (has('WordDocument')) return 'doc';
  if (has('Workbook') || has('Book')) return 'xls';
  if (has('PowerPoint Document')) return 'ppt';
  // Outlook items keep their properties in __substg1.0_* streams.
  if (has('__properties_version1.0') || has('__substg1.0_')) return 'msg';
  const byExt = EXT_KIND[ext];
  if (byExt === 'doc' || byExt === 'xls' || byExt === 'ppt' || byExt === 'msg') return byExt;
  // A password-protected OOXML file is an OLE2 wrapper around an EncryptedPackage stream.
  if (byExt && ZIP_KINDS.has(byExt) && has('EncryptedPackage')) return byExt;
  return 'unknown';
}

// ---- text ----

function decodeHeadText(head: Uint8Array): string | undefined {
  if (startsWith(head, [0xff, 0xfe])) return new TextDecoder('utf-16le').decode(head.subarray(2));
  if (startsWith(head, [0xfe, 0xff])) return new TextDecoder('utf-16be').decode(head.subarray(2));
  if (!looksLikeText(head)) return undefined;
  return new TextDecoder('utf-8').decode(head);
}

/** No NULs and few control bytes: text in some 8-bit or UTF-8 encoding (Shift_JIS included). */
export function looksLikeText(head: Uint8Array): boolean {
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) return true;
  if (head.length === 0) return true;
  let control = 0;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++;
  }
  return control / head.length < 0.02;
}

function looksLikeHtml(start: string): boolean {
  const s = start.slice(0, 2048).toLowerCase().replace(/^\ufeff/, '');
  if (s.startsWith('<!doctype html') || s.startsWith('<html')) return true;
  if (s.startsWith('<?xml') && s.includes('<html')) return true;
  if (s.startsWith('<!--') || s.startsWith('<head') || s.startsWith('<body') || s.startsWith('<meta') || s.startsWith('<title')) {
    return /<(html|head|body|title|meta)[\s>]/.test(s);
  }
  return false;
}

// ---- byte helpers ----

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(Math.max(0, length));
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

function startsWith(b: Uint8Array, sig: number[]): boolean {
  if (b.length < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < Math.min(b.length, start + len); i++) s += String.fromCharCode(b[i]!);
  return s;
}

function utf8(b: Uint8Array): string {
  return new TextDecoder('utf-8').decode(b);
}

function indexOfAscii(b: Uint8Array, needle: string): number {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(needle, 0, 'latin1');
}

function indexOfUtf16(b: Uint8Array, needle: string): number {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(Buffer.from(needle, 'utf16le'));
}

function u16(b: Uint8Array, p: number): number {
  return (b[p] ?? 0) | ((b[p + 1] ?? 0) << 8);
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16)) + (b[p + 3] ?? 0) * 0x1000000;
}
