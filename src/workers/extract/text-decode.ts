// Bytes -> string for text, csv, markdown and html files whose encoding nobody told us. Order: a byte
// order mark; ISO-2022-JP escapes (7-bit, so they would pass as UTF-8); BOM-less UTF-16; valid UTF-8;
// the charset the document declares (when its bytes decode cleanly in it); chardet's guess (Shift_JIS,
// EUC-JP, windows-125x...); UTF-8 with replacement characters as the last resort.
// Decoding uses Node's TextDecoder (full ICU), so no conversion tables ship with the project.
import { detect as detectCharset } from 'chardet';

export type DecodedText = { text: string; encoding: string };

/** Bytes given to chardet: enough to recognise an encoding, bounded so a huge file costs no more. */
const DETECT_SAMPLE_BYTES = 256 * 1024;
/** Bytes looked at for BOM-less UTF-16. */
const UTF16_SAMPLE_BYTES = 4096;

export function decodeText(bytes: Uint8Array, declared?: string): DecodedText {
  const bom = bomEncoding(bytes);
  if (bom) return { text: new TextDecoder(bom).decode(bytes), encoding: bom };
  if (looksLikeIso2022jp(bytes)) return decodeWith('iso-2022-jp', bytes) ?? fallback(bytes);
  const utf16 = bomlessUtf16(bytes);
  if (utf16) return { text: new TextDecoder(utf16).decode(bytes), encoding: utf16 };
  const utf8 = decodeWith('utf-8', bytes, true);
  if (utf8) return utf8;
  // The bytes are not UTF-8, so a declaration of UTF-8 (or UTF-16 in an 8-bit file) is wrong: skip it.
  const label = declared ? canonicalLabel(declared) : undefined;
  if (label && label !== 'utf-8' && !label.startsWith('utf-16')) {
    const strict = decodeWith(label, bytes, true);
    if (strict) return strict;
  }
  const guess = detectCharset(bytes.subarray(0, DETECT_SAMPLE_BYTES));
  const guessed = guess ? canonicalLabel(guess) : undefined;
  if (guessed && !guessed.startsWith('utf-')) {
    const decoded = decodeWith(guessed, bytes);
    if (decoded) return decoded;
  }
  return fallback(bytes);
}

/** The charset an HTML or XML document declares in its first KiB (meta charset, http-equiv, XML declaration). */
export function declaredCharset(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString('latin1');
  const xml = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']+)["']/i.exec(head);
  if (xml) return xml[1];
  for (const meta of head.matchAll(/<meta\b[^>]*>/gi)) {
    const charset = /\bcharset\s*=\s*["']?\s*([^"'\s;/>]+)/i.exec(meta[0]);
    if (charset) return charset[1];
  }
  return undefined;
}

function bomEncoding(b: Uint8Array): string | undefined {
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** ESC $ B / ESC $ @ / ESC ( J switch JIS X 0208 / JIS-Roman on: only ISO-2022-JP text has them. */
function looksLikeIso2022jp(b: Uint8Array): boolean {
  const sample = b.subarray(0, DETECT_SAMPLE_BYTES);
  let escapes = false;
  for (let i = 0; i < sample.length; i++) {
    const c = sample[i]!;
    if (c >= 0x80) return false;
    if (c === 0x1b && (sample[i + 1] === 0x24 || sample[i + 1] === 0x28)) escapes = true;
  }
  return escapes;
}

/** UTF-16 without a BOM: ASCII-range text leaves a zero in every other byte. */
function bomlessUtf16(b: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(b.length, UTF16_SAMPLE_BYTES) & ~1;
  if (n < 4) return undefined;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0) evenZeros++;
    if (b[i + 1] === 0) oddZeros++;
  }
  const pairs = n / 2;
  if (oddZeros > pairs * 0.3 && evenZeros < pairs * 0.05) return 'utf-16le';
  if (evenZeros > pairs * 0.3 && oddZeros < pairs * 0.05) return 'utf-16be';
  return undefined;
}

/** A label TextDecoder knows, normalised (Shift_JIS -> shift_jis, x-sjis -> shift_jis), or undefined. */
function canonicalLabel(label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
}

function decodeWith(encoding: string, bytes: Uint8Array, fatal = false): DecodedText | undefined {
  try {
    return { text: new TextDecoder(encoding, { fatal }).decode(bytes), encoding };
  } catch {
    return undefined;
  }
}

function fallback(bytes: Uint8Array): DecodedText {
  return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'utf-8' };
}
