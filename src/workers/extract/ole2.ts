// OLE2 compound files (Office 97–2003 .doc/.xls/.ppt, Outlook .msg, and the wrapper of a password-
// protected OOXML file): streams through `cfb`, and the title/author/dates of the SummaryInformation
// property sets ([MS-OLEPS]), which every Office 97–2003 writer keeps beside the document.
import CFB from 'cfb';
import type { DocMetadata } from '../../types.ts';
import { cleanField, compactMetadata, isoDate, splitAuthors, splitKeywords } from './metadata.ts';

export type Compound = CFB.CFB$Container;

/** Parses a compound file; throws an Error in plain words when it is not one. */
export function openCompound(bytes: Uint8Array): Compound {
  try {
    return CFB.read(bytes, { type: 'buffer' });
  } catch (err) {
    throw new Error(`damaged OLE2 compound file (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** The bytes of a stream found by name (case-insensitive, anywhere in the tree), or undefined. */
export function streamBytes(cfb: Compound, name: string): Uint8Array | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < cfb.FileIndex.length; i++) {
    const entry = cfb.FileIndex[i]!;
    if (entry.type === 2 && entry.name.toLowerCase() === lower && entry.content) {
      const c = entry.content;
      return c instanceof Uint8Array ? c : Uint8Array.from(c);
    }
  }
  return undefined;
}

/** A root-level stream (Word/Excel/PowerPoint keep their main streams at the root; embedded objects do not). */
export function rootStream(cfb: Compound, name: string): Uint8Array | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < cfb.FileIndex.length; i++) {
    const entry = cfb.FileIndex[i]!;
    const path = cfb.FullPaths[i]!;
    if (entry.type === 2 && entry.name.toLowerCase() === lower && path.split('/').filter(Boolean).length === 2 && entry.content) {
      const c = entry.content;
      return c instanceof Uint8Array ? c : Uint8Array.from(c);
    }
  }
  return undefined;
}

/**
 * The same container with its root streams renamed to the spelling readers expect ("WORDDOCUMENT" ->
 * "WordDocument"): stream names are case-insensitive in the format, but not in every reader.
 * Undefined when nothing needs renaming.
 */
export function withCanonicalNames(cfb: Compound, names: readonly string[]): Uint8Array | undefined {
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  let renamed = false;
  const out = CFB.utils.cfb_new();
  for (let i = 0; i < cfb.FileIndex.length; i++) {
    const entry = cfb.FileIndex[i]!;
    const parts = cfb.FullPaths[i]!.split('/').filter(Boolean);
    if (entry.type !== 2 || parts.length !== 2 || !entry.content) continue;
    const canonical = byLower.get(entry.name.toLowerCase()) ?? entry.name;
    if (canonical !== entry.name) renamed = true;
    CFB.utils.cfb_add(out, `/${canonical}`, entry.content);
  }
  return renamed ? (CFB.write(out, { type: 'buffer' }) as Uint8Array) : undefined;
}

/** A password-protected OOXML file is an OLE2 wrapper holding EncryptionInfo and EncryptedPackage. */
export function isEncryptedPackage(cfb: Compound): boolean {
  return rootStream(cfb, 'EncryptedPackage') !== undefined;
}

/** Title, authors, dates... from \x05SummaryInformation, and the slide count from \x05DocumentSummaryInformation. */
export function summaryMetadata(cfb: Compound): { metadata?: DocMetadata; slides?: number; pages?: number } {
  const summary = rootStream(cfb, '\u0005SummaryInformation');
  const docSummary = rootStream(cfb, '\u0005DocumentSummaryInformation');
  const s = summary ? readPropertySet(summary) : new Map<number, unknown>();
  const d = docSummary ? readPropertySet(docSummary) : new Map<number, unknown>();
  const authors = splitAuthors(s.get(4));
  const lastAuthor = cleanField(s.get(8));
  const metadata = compactMetadata({
    title: cleanField(s.get(2)),
    subject: cleanField(s.get(3)),
    authors: authors ?? (lastAuthor ? [lastAuthor] : undefined),
    keywords: splitKeywords(s.get(5)),
    created: isoDate(s.get(12)),
    modified: isoDate(s.get(13)),
    application: cleanField(s.get(18)),
  });
  const slides = d.get(7);
  const pages = s.get(14);
  return {
    ...(metadata ? { metadata } : {}),
    ...(typeof slides === 'number' && slides > 0 ? { slides } : {}),
    ...(typeof pages === 'number' && pages > 0 ? { pages } : {}),
  };
}

// ---- [MS-OLEPS] property sets ----

const VT_I2 = 0x02;
const VT_I4 = 0x03;
const VT_BOOL = 0x0b;
const VT_LPSTR = 0x1e;
const VT_LPWSTR = 0x1f;
const VT_FILETIME = 0x40;
const PID_CODEPAGE = 1;
/** 100 ns intervals between 1601-01-01 and 1970-01-01. */
const FILETIME_EPOCH_MS = 11_644_473_600_000;

/** The first section's properties by id: numbers, strings and Dates. Unknown types are skipped. */
export function readPropertySet(bytes: Uint8Array): Map<number, unknown> {
  const out = new Map<number, unknown>();
  if (bytes.length < 48) return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0, true) !== 0xfffe) return out;
  const sectionAt = view.getUint32(44, true);
  if (sectionAt + 8 > bytes.length) return out;
  const count = Math.min(view.getUint32(sectionAt + 4, true), 1000);
  const entries: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const p = sectionAt + 8 + i * 8;
    if (p + 8 > bytes.length) break;
    entries.push([view.getUint32(p, true), sectionAt + view.getUint32(p + 4, true)]);
  }
  // The code page decides how 8-bit strings read, so it is read first.
  let codepage = 1252;
  const cp = entries.find(([id]) => id === PID_CODEPAGE);
  if (cp && cp[1] + 6 <= bytes.length && view.getUint16(cp[1], true) === VT_I2) codepage = view.getUint16(cp[1] + 4, true);
  for (const [id, at] of entries) {
    if (id === 0 || id === PID_CODEPAGE || at + 8 > bytes.length) continue;
    try {
      const value = readValue(bytes, view, at, codepage);
      if (value !== undefined) out.set(id, value);
    } catch {
      // One damaged property does not cost the others.
    }
  }
  return out;
}

function readValue(bytes: Uint8Array, view: DataView, at: number, codepage: number): unknown {
  const type = view.getUint16(at, true);
  const p = at + 4;
  switch (type) {
    case VT_I2:
      return view.getInt16(p, true);
    case VT_I4:
      return view.getInt32(p, true);
    case VT_BOOL:
      return view.getUint16(p, true) !== 0;
    case VT_LPSTR: {
      const size = view.getUint32(p, true);
      const raw = bytes.subarray(p + 4, Math.min(bytes.length, p + 4 + size));
      return decodeCodepage(raw, codepage).replace(/\0+$/, '');
    }
    case VT_LPWSTR: {
      const chars = view.getUint32(p, true);
      const raw = bytes.subarray(p + 4, Math.min(bytes.length, p + 4 + chars * 2));
      return new TextDecoder('utf-16le').decode(raw).replace(/\0+$/, '');
    }
    case VT_FILETIME: {
      const low = view.getUint32(p, true);
      const high = view.getUint32(p + 4, true);
      if (low === 0 && high === 0) return undefined;
      return new Date((high * 4_294_967_296 + low) / 10_000 - FILETIME_EPOCH_MS);
    }
    default:
      return undefined;
  }
}

/** Windows code page numbers to the labels TextDecoder knows. */
const CODEPAGE_LABEL: Readonly<Record<number, string>> = {
  932: 'shift_jis', 936: 'gbk', 949: 'euc-kr', 950: 'big5', 1200: 'utf-16le', 1201: 'utf-16be', 10000: 'macintosh',
  20932: 'euc-jp', 50220: 'iso-2022-jp', 51932: 'euc-jp', 65001: 'utf-8', 874: 'windows-874', 437: 'ibm866',
};

/** Decodes 8-bit text written in a Windows code page (windows-125x, Shift_JIS...). */
export function decodeCodepage(raw: Uint8Array, codepage: number): string {
  const label = CODEPAGE_LABEL[codepage] ?? (codepage >= 1250 && codepage <= 1258 ? `windows-${codepage}` : 'windows-1252');
  try {
    return new TextDecoder(label).decode(raw);
  } catch {
    return new TextDecoder('windows-1252').decode(raw);
  }
}

/** UTF-16LE bytes as text (an odd last byte is dropped). */
export function utf16(raw: Uint8Array): string {
  return new TextDecoder('utf-16le').decode(raw.length % 2 ? raw.subarray(0, raw.length - 1) : raw);
}

/** "Compressed" 8-bit Office strings (BIFF8, PowerPoint TextBytesAtom): UTF-16 with the zero high bytes dropped, i.e. Latin-1. */
export function latin1(raw: Uint8Array): string {
  let s = '';
  for (let i = 0; i < raw.length; i++) s += String.fromCharCode(raw[i]!);
  return s;
}
