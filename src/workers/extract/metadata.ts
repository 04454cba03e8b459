// Normalises what documents say about themselves into DocMetadata: trimmed strings, author and keyword
// lists split, dates as ISO strings (an unparseable or absurd date is dropped, never guessed).
import type { DocMetadata } from '../../types.ts';

/** Longest string kept for one field: a title is not a place for a whole document. */
const MAX_FIELD_CHARS = 1000;
/** Most entries kept in a list field. */
const MAX_LIST_ITEMS = 50;
/** Dates outside this range are a writer's placeholder (1601, 1904 epochs), not a real date. */
const MIN_YEAR = 1970;
const MAX_YEAR = 2200;

/** A trimmed, bounded string, or undefined when empty. Control characters become spaces. */
export function cleanField(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!s) return undefined;
  return s.length > MAX_FIELD_CHARS ? s.slice(0, MAX_FIELD_CHARS) : s;
}

/** Authors written as "A; B", "A, B" (when every part is a name) or "A and B"; arrays pass through. */
export function splitAuthors(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return list(value.flatMap((v) => splitAuthors(v) ?? []));
  const s = cleanField(value);
  if (!s) return undefined;
  // "Smith, John" is one author: split on commas only when there are semicolons nowhere and 3+ parts.
  let parts = s.split(/\s*[;；、\n]\s*|\s+(?:and|&)\s+/i);
  if (parts.length === 1) {
    const commas = s.split(/\s*,\s*/);
    if (commas.length >= 3) parts = commas;
  }
  return list(parts);
}

/** Keywords written as "a, b; c" or an array. */
export function splitKeywords(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return list(value.flatMap((v) => splitKeywords(v) ?? []));
  const s = cleanField(value);
  if (!s) return undefined;
  return list(s.split(/\s*[,;，；、]\s*/));
}

function list(items: unknown[]): string[] | undefined {
  const out: string[] = [];
  for (const item of items) {
    const s = cleanField(item);
    if (s && !out.includes(s)) out.push(s);
    if (out.length >= MAX_LIST_ITEMS) break;
  }
  return out.length ? out : undefined;
}

/** An ISO 8601 date from a Date, an ISO/RFC string, or a PDF date ("D:20240131120000+09'00'"). */
export function isoDate(value: unknown): string | undefined {
  let d: Date | undefined;
  if (value instanceof Date) d = value;
  else if (typeof value === 'string') {
    const s = value.trim();
    if (!s) return undefined;
    d = pdfDate(s) ?? exifDate(s) ?? new Date(s);
  } else if (typeof value === 'number' && Number.isFinite(value)) d = new Date(value);
  if (!d || Number.isNaN(d.getTime())) return undefined;
  const year = d.getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR) return undefined;
  return d.toISOString();
}

/** PDF dates: D:YYYYMMDDHHmmSSOHH'mm' with every part after the year optional. */
function pdfDate(s: string): Date | undefined {
  const m = /^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(Z|[+-]\d{2}'?\d{0,2}'?)?/.exec(s);
  if (!m || (!s.startsWith('D:') && !/^\d{14}/.test(s))) return undefined;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', se = '00', tz] = m;
  let offset = 'Z';
  if (tz && tz !== 'Z') {
    const t = /^([+-])(\d{2})'?(\d{2})?/.exec(tz)!;
    offset = `${t[1]}${t[2]}:${t[3] ?? '00'}`;
  }
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${se}${offset}`);
}

/** EXIF dates: "YYYY:MM:DD HH:MM:SS" (local time of the camera, no zone: read as UTC). */
function exifDate(s: string): Date | undefined {
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(s);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/** Drops undefined and empty fields, so a document without metadata carries none. */
export function compactMetadata(m: DocMetadata): DocMetadata | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return Object.keys(out).length ? (out as DocMetadata) : undefined;
}

/** Fields of `b` fill the gaps of `a` (the first reader that knows a field wins). */
export function mergeMetadata(a: DocMetadata | undefined, b: DocMetadata | undefined): DocMetadata | undefined {
  if (!a) return b;
  if (!b) return a;
  return compactMetadata({ ...b, ...Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) });
}
