// Refuses zip bombs before a parser inflates anything: reads only the central directory (fflate's
// unzipSync with a filter that never asks for data) and checks entry count, declared size and ratio.
// Declared sizes can lie, so the parser must also bound the bytes it really inflates
// (ZipBounds.maxInflatedBytes, passed on by the caller).
import { unzipSync } from 'fflate';
import type { ZipBounds } from './document-bounds.ts';

/** Why the archive is refused, in plain words; undefined when it is within bounds. */
export function zipBombReason(bytes: Uint8Array, bounds: ZipBounds): string | undefined {
  let entries = 0;
  let declared = 0;
  let reason: string | undefined;
  try {
    unzipSync(bytes, {
      filter(file) {
        if (reason) return false;
        entries++;
        declared += file.originalSize;
        if (entries > bounds.maxEntries) {
          reason = `zip archive has more than ${bounds.maxEntries} entries`;
        } else if (declared > bounds.maxDeclaredBytes) {
          reason = `zip archive declares more than ${bounds.maxDeclaredBytes} bytes uncompressed`;
        } else if (file.originalSize > bounds.ratioCheckMinBytes && file.originalSize / Math.max(1, file.size) > bounds.maxEntryRatio) {
          const ratio = Math.round(file.originalSize / Math.max(1, file.size));
          reason = `zip entry ${JSON.stringify(file.name)} expands ${ratio}:1 (${file.originalSize} bytes), over the ratio limit of ${bounds.maxEntryRatio}:1`;
        }
        // A thrown error is the only way to stop fflate walking the rest of a huge directory.
        if (reason) throw new ZipRefused(reason);
        return false;
      },
    });
  } catch (err) {
    if (err instanceof ZipRefused) return err.message;
    // Not a readable zip at all: the parser will say what is wrong in its own words.
    return undefined;
  }
  return reason;
}

/** True when the bytes start like a zip archive (local header or an empty archive's end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 0x03 && bytes[3] === 0x04) || (bytes[2] === 0x05 && bytes[3] === 0x06));
}

class ZipRefused extends Error {}
