// @napi-rs/canvas, loaded the one way this project uses it: without the system fonts.
//
// On load the library registers every font under the system font directories: 17 MB of font files
// kept resident for the life of the process on a machine with CJK fonts (skia's font collection is
// process-wide and never shrinks). Nothing here draws text with them: pdf.js is given
// `disableFontFace`, so it paints every glyph as a path from the PDF's own or its standard font data.
// The library reads the variable when a thread first loads it (a pool thread has its own process.env).
// It is set when this module is imported, not only in loadCanvas(): pdf.js loads the canvas itself as
// its own module loads (for its DOMMatrix and Path2D), and pdf.ts imports this module (through
// pdfjs-limits.ts) before it imports pdf.js.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
process.env.DISABLE_SYSTEM_FONTS_LOAD ??= '1';

export type NapiCanvas = { width: number; height: number; getContext(kind: '2d'): unknown };

export function loadCanvas(): { createCanvas(width: number, height: number): NapiCanvas } {
  return require('@napi-rs/canvas') as { createCanvas(width: number, height: number): NapiCanvas };
}
