// Zip archives as a list of entries, inflated one at a time with node:zlib's maxOutputLength, so an
// entry whose declared size lies still stops at the bound. The archive as a whole has already passed
// the zip-bomb guard (entry count, declared total, ratio). Entry names without the UTF-8 flag are read
// as UTF-8 when they are valid UTF-8, else as Shift_JIS (what Japanese Windows writes), else Latin-1.
import { inflateRawSync } from 'node:zlib';

export type ZipEntry = {
  name: string;
  /** 0 stored, 8 deflated; anything else cannot be read here. */
  method: number;
  compressedSize: number;
  size: number;
  encrypted: boolean;
  dataStart: number;
};

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The file entries of a zip (directories left out), in archive order; [] when there is no central directory. */
export function zipEntries(bytes: Uint8Array): ZipEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65_557); i--) {
    if (v.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return [];
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count && p + 46 <= bytes.length && v.getUint32(p, true) === CENTRAL; n++) {
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const compressedSize = v.getUint32(p + 20, true);
    const size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = entryName(bytes.subarray(p + 46, p + 46 + nameLen), (flags & 0x0800) !== 0);
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/') || local + 30 > bytes.length || v.getUint32(local, true) !== LOCAL) continue;
    const dataStart = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    entries.push({ name, method, compressedSize, size, encrypted: (flags & 0x0001) !== 0, dataStart });
  }
  return entries;
}

/**
 * One entry's bytes. Throws a plain-words Error when it declares more than maxBytes, when it inflates
 * past what it declares (a lying entry), or when it cannot be read.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, maxBytes: number): Uint8Array {
  if (entry.encrypted) throw new Error('the entry is password-protected');
  if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff) throw new Error('zip64 entries are not read');
  if (entry.size > maxBytes) throw new Error(`the entry declares ${entry.size} bytes, over the limit of ${maxBytes}`);
  const data = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  if (entry.method === 0) return data.subarray(0, entry.size);
  if (entry.method !== 8) throw new Error(`compression method ${entry.method} is not supported`);
  if (entry.size === 0) return new Uint8Array();
  try {
    return inflateRawSync(data, { maxOutputLength: entry.size });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`the entry inflates past the ${entry.size} bytes it declares`);
    throw new Error(`the entry is damaged (${(err as Error).message})`);
  }
}

function entryName(raw: Uint8Array, utf8Flag: boolean): string {
  if (utf8Flag) return new TextDecoder('utf-8').decode(raw);
  for (const label of ['utf-8', 'shift_jis']) {
    try {
      return new TextDecoder(label, { fatal: true }).decode(raw);
    } catch {
      // next guess
    }
  }
  return new TextDecoder('latin1').decode(raw);
}
