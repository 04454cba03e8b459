// Excel 97–2003 (.xls, BIFF8, and Excel 5/95 BIFF5) to text: the Workbook stream's records read
// directly ([MS-XLS]) from the OLE2 container. Cell values row by row under each sheet's name, then
// headers/footers, text boxes and comments. Date and time formats are applied (a date cell reads as
// 2024-03-15); other number formats (percent, currency) are not. SheetJS would do more, but the
// release the npm registry serves (0.18.5) is from 2022 and carries open advisories (prototype
// pollution, ReDoS) for exactly this job: reading untrusted files.
import type { DocMetadata } from '../../types.ts';
import { EncryptedDocumentError } from './encrypted.ts';
import { decodeCodepage, openCompound, rootStream, summaryMetadata } from './ole2.ts';
import { latin1, utf16 } from './ole2.ts';

export type WorkbookText = { text: string; sheets: number; metadata?: DocMetadata; truncated: boolean };

const BOF = 0x0809;
const EOF = 0x000a;
const CONTINUE = 0x003c;
const BOUNDSHEET = 0x0085;
const SST = 0x00fc;
const LABELSST = 0x00fd;
const LABEL = 0x0204;
const RSTRING = 0x00d6;
const NUMBER = 0x0203;
const RK = 0x027e;
const MULRK = 0x00bd;
const FORMULA = 0x0006;
const STRING = 0x0207;
const HEADER = 0x0014;
const FOOTER = 0x0015;
const TXO = 0x01b6;
const FILEPASS = 0x002f;
const CODEPAGE = 0x0042;
const FORMAT = 0x041e;
const XF = 0x00e0;
const DATEMODE = 0x0022;
/** Excel's built-in date and time number formats ([MS-XLS] 2.4.126). */
const BUILTIN_DATE_FORMATS = [14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47];

const BOF_BIFF2 = 0x0009;
const BOF_BIFF3 = 0x0209;
const BOF_BIFF4 = 0x0409;
const LABEL_BIFF2 = 0x0004;
const NUMBER_BIFF2 = 0x0003;
const INTEGER_BIFF2 = 0x0002;

const SHEET_KINDS = new Set([0x0010]);

type Rec = { type: number; at: number; data: Uint8Array };

/** Reads a .xls file's bytes. Throws EncryptedDocumentError for a password-protected workbook. */
export function workbookText(bytes: Uint8Array, maxChars: number): WorkbookText {
  // Excel 2.x–4.0 wrote the records bare, without an OLE2 container.
  const bare = isBareBiff(bytes);
  const cfb = bare ? undefined : openCompound(bytes);
  const { metadata } = cfb ? summaryMetadata(cfb) : {};
  const stream = cfb ? (rootStream(cfb, 'Workbook') ?? rootStream(cfb, 'Book')) : bytes;
  if (!stream) throw new Error('not an Excel workbook (no Workbook stream)');
  const records = readRecords(stream);
  const sheetNames = new Map<number, string>();
  let biff8 = !bare;
  let codepage = 1252;
  let sst: string[] = [];
  const out = new Output(maxChars);
  let sheets = 0;
  let inSheet = false;
  let row = -1;
  let line: string[] = [];
  let pendingFormulaString = false;
  // Number formats: which cell formats (XF) show a date, so a date cell reads as a date, not a serial.
  const dateFormats = new Set<number>(BUILTIN_DATE_FORMATS);
  const xfIsDate: boolean[] = [];
  let date1904 = false;
  const value = (n: number, ixfe: number) => (xfIsDate[ixfe] ? formatDate(n, date1904) : formatNumber(n));
  const flushRow = () => {
    if (line.length) out.add(line.filter(Boolean).join('\t'));
    line = [];
  };
  const cell = (r: number, value: string) => {
    if (r !== row) {
      flushRow();
      row = r;
    }
    line.push(value);
  };

  for (let i = 0; i < records.length && !out.full; i++) {
    const rec = records[i]!;
    const d = rec.data;
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    switch (rec.type) {
      case BOF:
      case BOF_BIFF2:
      case BOF_BIFF3:
      case BOF_BIFF4: {
        if (rec.type !== BOF) {
          biff8 = false;
          inSheet = true;
          sheets++;
          row = -1;
        } else if (d.length >= 4) {
          const version = v.getUint16(0, true);
          const kind = v.getUint16(2, true);
          if (kind === 0x0005) biff8 = version >= 0x0600;
          inSheet = SHEET_KINDS.has(kind);
          if (inSheet) {
            sheets++;
            row = -1;
            const name = sheetNames.get(rec.at);
            if (name) out.add(name);
          }
        }
        break;
      }
      case EOF:
        if (inSheet) flushRow();
        inSheet = false;
        break;
      case FILEPASS:
        throw new EncryptedDocumentError('the workbook is password-protected', metadata ? { metadata } : {});
      case FORMAT:
        if (d.length >= 3) {
          const ifmt = v.getUint16(0, true);
          const code = biff8 ? unicodeString(d, 2).text : decodeCodepage(d.subarray(3, 3 + d[2]!), codepage);
          if (isDateFormat(code)) dateFormats.add(ifmt);
        }
        break;
      case XF:
        if (d.length >= 4) xfIsDate.push(dateFormats.has(v.getUint16(2, true)));
        break;
      case DATEMODE:
        if (d.length >= 2) date1904 = v.getUint16(0, true) === 1;
        break;
      case CODEPAGE:
        if (d.length >= 2) codepage = v.getUint16(0, true);
        break;
      case BOUNDSHEET:
        if (d.length >= 8) {
          const name = biff8 ? shortUnicode(d, 6) : decodeCodepage(d.subarray(7, 7 + d[6]!), codepage);
          sheetNames.set(v.getUint32(0, true), name);
        }
        break;
      case SST:
        sst = readSst([d, ...continuations(records, i)]);
        break;
      case LABELSST:
        if (inSheet && d.length >= 10) cell(v.getUint16(0, true), sst[v.getUint32(6, true)] ?? '');
        break;
      case LABEL:
      case RSTRING:
        if (inSheet && d.length >= 8) cell(v.getUint16(0, true), biff8 ? unicodeString(d, 6).text : decodeCodepage(d.subarray(8, 8 + v.getUint16(6, true)), codepage));
        break;
      case LABEL_BIFF2:
        if (inSheet && d.length >= 8) cell(v.getUint16(0, true), decodeCodepage(d.subarray(8, 8 + d[7]!), codepage));
        break;
      case NUMBER_BIFF2:
        if (inSheet && d.length >= 15) cell(v.getUint16(0, true), formatNumber(v.getFloat64(7, true)));
        break;
      case INTEGER_BIFF2:
        if (inSheet && d.length >= 9) cell(v.getUint16(0, true), String(v.getUint16(7, true)));
        break;
      case NUMBER:
        if (inSheet && d.length >= 14) cell(v.getUint16(0, true), value(v.getFloat64(6, true), v.getUint16(4, true)));
        break;
      case RK:
        if (inSheet && d.length >= 10) cell(v.getUint16(0, true), value(rkValue(v.getUint32(6, true)), v.getUint16(4, true)));
        break;
      case MULRK:
        if (inSheet && d.length >= 6) {
          const r = v.getUint16(0, true);
          for (let p = 4; p + 6 <= d.length - 2; p += 6) cell(r, value(rkValue(v.getUint32(p + 2, true)), v.getUint16(p, true)));
        }
        break;
      case FORMULA:
        if (inSheet && d.length >= 14) {
          const r = v.getUint16(0, true);
          if (v.getUint16(12, true) === 0xffff) {
            // A string result follows in a STRING record; booleans/errors/empty strings are not text.
            if (d[6] === 0) {
              cell(r, '');
              pendingFormulaString = true;
            }
          } else {
            cell(r, value(v.getFloat64(6, true), v.getUint16(4, true)));
          }
        }
        break;
      case STRING:
        if (inSheet && pendingFormulaString) {
          line[line.length - 1] = biff8 ? unicodeString(d, 0).text : decodeCodepage(d.subarray(2, 2 + v.getUint16(0, true)), codepage);
          pendingFormulaString = false;
        }
        break;
      case HEADER:
      case FOOTER:
        if (inSheet && d.length > 3) {
          const s = biff8 ? unicodeString(d, 0).text : decodeCodepage(d.subarray(1, 1 + d[0]!), codepage);
          out.addLater(stripHeaderCodes(s));
        }
        break;
      case TXO: {
        // Text boxes and comments: the text is in the CONTINUE record that follows.
        const cch = d.length >= 12 ? v.getUint16(10, true) : 0;
        const next = records[i + 1];
        if (cch > 0 && next?.type === CONTINUE && next.data.length > 1) {
          const high = (next.data[0]! & 1) === 1;
          const raw = next.data.subarray(1, 1 + cch * (high ? 2 : 1));
          out.addLater(high ? utf16(raw) : latin1(raw));
        }
        break;
      }
    }
  }
  flushRow();
  out.flushLater();
  return { text: out.text, sheets, truncated: out.full, ...(metadata ? { metadata } : {}) };
}

/** A file that starts with a BIFF2–4 BOF record. */
export function isBareBiff(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  const type = bytes[0]! | (bytes[1]! << 8);
  const len = bytes[2]! | (bytes[3]! << 8);
  return (type === BOF_BIFF2 || type === BOF_BIFF3 || type === BOF_BIFF4) && len >= 4 && len <= 16;
}

function readRecords(stream: Uint8Array): Rec[] {
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const recs: Rec[] = [];
  let p = 0;
  while (p + 4 <= stream.length) {
    const type = v.getUint16(p, true);
    const len = v.getUint16(p + 2, true);
    if (p + 4 + len > stream.length) break;
    recs.push({ type, at: p, data: stream.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return recs;
}

function continuations(records: Rec[], i: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let j = i + 1; j < records.length && records[j]!.type === CONTINUE; j++) out.push(records[j]!.data);
  return out;
}

/** The shared string table, whose strings may be split across CONTINUE records ([MS-XLS] 2.5.293). */
function readSst(segments: Uint8Array[]): string[] {
  const r = new SegmentReader(segments);
  r.skip(4);
  const unique = r.u32();
  const strings: string[] = [];
  for (let n = 0; n < unique && !r.done; n++) {
    const cch = r.u16();
    const flags = r.u8();
    const runs = flags & 0x08 ? r.u16() : 0;
    const ext = flags & 0x04 ? r.u32() : 0;
    strings.push(r.chars(cch, (flags & 0x01) === 1));
    r.skip(runs * 4 + ext);
  }
  return strings;
}

class SegmentReader {
  #segs: Uint8Array[];
  #seg = 0;
  #pos = 0;
  constructor(segs: Uint8Array[]) {
    this.#segs = segs;
  }
  get done(): boolean {
    return this.#seg >= this.#segs.length;
  }
  #next(): void {
    while (this.#seg < this.#segs.length && this.#pos >= this.#segs[this.#seg]!.length) {
      this.#seg++;
      this.#pos = 0;
    }
  }
  u8(): number {
    this.#next();
    if (this.done) return 0;
    return this.#segs[this.#seg]![this.#pos++]!;
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }
  skip(n: number): void {
    while (n > 0 && !this.done) {
      this.#next();
      if (this.done) return;
      const room = this.#segs[this.#seg]!.length - this.#pos;
      const step = Math.min(room, n);
      this.#pos += step;
      n -= step;
    }
  }
  /** cch characters; when a CONTINUE record interrupts them it starts with a fresh high-byte flag. */
  chars(cch: number, high: boolean): string {
    let s = '';
    let left = cch;
    while (left > 0 && !this.done) {
      const seg = this.#segs[this.#seg]!;
      if (this.#pos >= seg.length) {
        this.#seg++;
        this.#pos = 0;
        if (this.done) break;
        high = (this.#segs[this.#seg]![this.#pos++]! & 1) === 1;
        continue;
      }
      const width = high ? 2 : 1;
      const take = Math.min(left, Math.floor((seg.length - this.#pos) / width));
      if (take === 0) {
        this.#pos = seg.length;
        continue;
      }
      const raw = seg.subarray(this.#pos, this.#pos + take * width);
      s += high ? utf16(raw) : latin1(raw);
      this.#pos += take * width;
      left -= take;
    }
    return s;
  }
}

/** XLUnicodeString: cch u16, flags u8, characters. */
function unicodeString(d: Uint8Array, at: number): { text: string; end: number } {
  if (at + 3 > d.length) return { text: '', end: d.length };
  const cch = d[at]! | (d[at + 1]! << 8);
  const high = (d[at + 2]! & 1) === 1;
  const start = at + 3;
  const end = Math.min(d.length, start + cch * (high ? 2 : 1));
  const raw = d.subarray(start, end);
  return { text: high ? utf16(raw) : latin1(raw), end };
}

/** ShortXLUnicodeString: cch u8, flags u8, characters. */
function shortUnicode(d: Uint8Array, at: number): string {
  const cch = d[at] ?? 0;
  const high = ((d[at + 1] ?? 0) & 1) === 1;
  const raw = d.subarray(at + 2, at + 2 + cch * (high ? 2 : 1));
  return high ? utf16(raw) : latin1(raw);
}

/** RK numbers: 30 bits of an IEEE double's top or of an integer, optionally divided by 100. */
function rkValue(rk: number): number {
  let n: number;
  if (rk & 0x02) n = rk >> 2;
  else {
    const buf = new DataView(new ArrayBuffer(8));
    buf.setUint32(4, rk & 0xfffffffc, true);
    n = buf.getFloat64(0, true);
  }
  return rk & 0x01 ? n / 100 : n;
}

/** A format code shows a date or time when it has d/m/y/h/s outside quotes, brackets and escapes, and no digit placeholders. */
export function isDateFormat(code: string): boolean {
  const bare = code.replace(/"[^"]*"|\[[^\]]*\]|\\.|_.|\*./g, '');
  return /[dmyhs]/i.test(bare) && !/[0#?]/.test(bare.replace(/\.0+/g, ''));
}

/** An Excel serial date as ISO date (and time when it has one): 1900 system with its leap-year bug, or 1904. */
function formatDate(serial: number, date1904: boolean): string {
  if (!Number.isFinite(serial) || serial < 0 || serial > 2_958_465) return formatNumber(serial);
  const days = date1904 ? serial + 1462 : serial < 60 ? serial + 1 : serial;
  const ms = Math.round((days - 25_569) * 86_400_000);
  const iso = new Date(ms).toISOString();
  // Below 1 the serial is a time of day alone.
  if (serial < 1) return iso.slice(11, 19);
  return Number.isInteger(serial) ? iso.slice(0, 10) : iso.slice(0, 19).replace('T', ' ');
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '';
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(15)));
}

/** Header/footer strings carry codes like &L &C &R &P &D &"Arial,Bold" &12. */
function stripHeaderCodes(s: string): string {
  return s.replace(/&"[^"]*"/g, ' ').replace(/&\d+/g, ' ').replace(/&[LCRPNDTFAZGSUXYBIEKHO]/gi, ' ').replace(/&&/g, '&').trim();
}



/** Collects lines up to a character budget; headers/footers/text boxes go after the cells. */
class Output {
  #lines: string[] = [];
  #later: string[] = [];
  #length = 0;
  #max: number;
  full = false;
  constructor(max: number) {
    this.#max = max;
  }
  add(line: string): void {
    const s = line.trim();
    if (!s || this.full) return;
    this.#lines.push(s);
    this.#length += s.length + 1;
    if (this.#length > this.#max) this.full = true;
  }
  addLater(line: string): void {
    const s = line.trim();
    if (s && !this.#later.includes(s) && this.#later.length < 10_000) this.#later.push(s);
  }
  flushLater(): void {
    for (const s of this.#later) this.add(s);
  }
  get text(): string {
    return this.#lines.join('\n');
  }
}
