// Netpbm images (PBM P1/P4, PGM P2/P5, PPM P3/P6) to raw 8-bit pixels: libvips as sharp ships it does
// not read them. Plain (ASCII) and raw (binary) forms, comments, maxval up to 65535.

export type NetpbmImage = { kind: 'raw'; data: Uint8Array; width: number; height: number; channels: 1 | 3; dpi: number };

export class NetpbmTooLarge extends Error {}

/** True when the head starts like a netpbm file: P1..P6 then whitespace. */
export function isNetpbm(head: Uint8Array): boolean {
  return head.length >= 3 && head[0] === 0x50 && head[1]! >= 0x31 && head[1]! <= 0x36 && isSpace(head[2]!) && /^P[1-6]\s+(#[^\n]*\n\s*)*\d/.test(latin1(head.subarray(0, 256)));
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

export function decodeNetpbm(buf: Uint8Array, maxPixels: number): NetpbmImage {
  if (!isNetpbm(buf)) throw new Error('not a netpbm (PBM/PGM/PPM) file');
  const type = buf[1]! - 0x30;
  let pos = 2;
  /** The next header or plain-form token (comments skipped). */
  const token = (): number => {
    for (;;) {
      while (pos < buf.length && isSpace(buf[pos]!)) pos++;
      if (buf[pos] === 0x23) {
        while (pos < buf.length && buf[pos] !== 0x0a) pos++;
        continue;
      }
      break;
    }
    const start = pos;
    while (pos < buf.length && buf[pos]! >= 0x30 && buf[pos]! <= 0x39) pos++;
    if (pos === start) throw new Error(`bad netpbm data at byte ${start}`);
    return Number(latin1(buf.subarray(start, pos)));
  };
  const width = token();
  const height = token();
  if (width <= 0 || height <= 0) throw new Error(`bad dimensions ${width}x${height}`);
  if (width * height > maxPixels) throw new NetpbmTooLarge(`image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels} pixels`);
  const bitmap = type === 1 || type === 4;
  const maxval = bitmap ? 1 : token();
  if (maxval <= 0 || maxval > 65535) throw new Error(`bad maxval ${maxval}`);
  const channels: 1 | 3 = type === 3 || type === 6 ? 3 : 1;
  const n = width * height * channels;
  const out = new Uint8Array(n);
  const scale = (v: number) => Math.round((Math.min(v, maxval) * 255) / maxval);
  if (type === 1) {
    // Plain PBM: digits may run together ("0101"), 1 is black.
    let i = 0;
    for (; pos < buf.length && i < n; pos++) {
      const c = buf[pos]!;
      if (c === 0x23) while (pos < buf.length && buf[pos] !== 0x0a) pos++;
      else if (c === 0x30 || c === 0x31) out[i++] = c === 0x31 ? 0 : 255;
    }
    if (i < n) throw new Error('truncated pixel data');
  } else if (type === 2 || type === 3) {
    for (let i = 0; i < n; i++) out[i] = scale(token());
  } else {
    pos++; // the single whitespace after the header
    if (type === 4) {
      const stride = Math.ceil(width / 8);
      if (pos + stride * height > buf.length) throw new Error('truncated pixel data');
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) out[y * width + x] = buf[pos + y * stride + (x >> 3)]! & (0x80 >> (x & 7)) ? 0 : 255;
      }
    } else {
      const bytes = maxval > 255 ? 2 : 1;
      if (pos + n * bytes > buf.length) throw new Error('truncated pixel data');
      for (let i = 0; i < n; i++) out[i] = bytes === 1 ? scale(buf[pos + i]!) : scale((buf[pos + 2 * i]! << 8) | buf[pos + 2 * i + 1]!);
    }
  }
  return { kind: 'raw', data: out, width, height, channels, dpi: 0 };
}
