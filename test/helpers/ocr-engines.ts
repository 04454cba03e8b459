// Both OCR engines for tests that must hold on each. The native engine needs Debian's tesseract
// packages: without them a developer's run skips it and says what to install; under CI=true it is
// never skipped (.ci/run installs them), so a missing package fails there.
import { probeNative } from '../../src/workers/ocr/tesseract-cli.ts';
import { neededLanguages } from '../../src/workers/ocr/choice.ts';
import { createOcrEngine } from '../../src/workers/ocr/choice.ts';
import type { OcrEngine, OcrEngineKind, OcrModel } from '../../src/workers/ocr/engine.ts';

export const NATIVE_PACKAGES = 'tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert';

/** false (run) or the reason to skip the native engine's tests. */
export function nativeSkip(langs = 'eng+jpn'): false | string {
  if (process.env.CI === 'true') return false;
  const probe = probeNative(neededLanguages(langs));
  return probe.usable ? false : `native OCR engine not tested: ${probe.reason} (apt-get install ${NATIVE_PACKAGES})`;
}

export type EngineUnderTest = { kind: OcrEngineKind; skip: false | string; make: (model?: OcrModel, opts?: { recycleAfterPages?: number; maxHeapMb?: number }) => OcrEngine };

export function enginesUnderTest(): EngineUnderTest[] {
  return (['native', 'wasm'] as const).map((kind) => ({
    kind,
    skip: kind === 'native' ? nativeSkip() : false,
    make: (model = 'fast', opts = {}) => createOcrEngine({ kind, model, recycleAfterPages: opts.recycleAfterPages ?? 1000, maxHeapMb: opts.maxHeapMb ?? 1000 }),
  }));
}
