// Which engine a process uses (OCR_ENGINE=auto|native|wasm), decided once in the main thread, and the
// factory each pool thread builds its engine with.
import type { OcrEngine, OcrEngineKind, OcrEngineSpec, OcrModel } from './engine.ts';
import { OcrEngineError } from './engine.ts';
import { NativeEngine, probeNative } from './tesseract-cli.ts';
import type { NativeProbe } from './tesseract-cli.ts';
import { WasmEngine } from './tesseract-wasm.ts';

export type OcrEngineSetting = 'auto' | OcrEngineKind;
export type OcrEngineChoice = { kind: OcrEngineKind; model: OcrModel; reason: string };

/** The languages the engine must have: the configured ones plus jpn_vert when Japanese is read (vertical writing). */
export function neededLanguages(langs: string): string[] {
  const codes = langs.split('+');
  return codes.includes('jpn') ? [...codes, 'jpn_vert'] : codes;
}

/**
 * auto: native when the tesseract CLI is on PATH with every language needed, else wasm. native: the
 * CLI or a clear error (never a silent fallback the operator did not ask for). wasm: always available.
 */
export function chooseOcrEngine(setting: OcrEngineSetting, model: OcrModel, langs: string, probe: (langs: string[]) => NativeProbe = probeNative): OcrEngineChoice {
  if (setting === 'wasm') return { kind: 'wasm', model, reason: 'OCR_ENGINE=wasm' };
  const native = probe(neededLanguages(langs));
  if (setting === 'native') {
    if (!native.usable) throw new OcrEngineError(`OCR_ENGINE=native but ${native.reason}; install tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert or set OCR_ENGINE=auto`);
    return { kind: 'native', model, reason: `OCR_ENGINE=native (${native.version})` };
  }
  if (native.usable) return { kind: 'native', model, reason: `auto: ${native.version} on PATH with ${neededLanguages(langs).join(', ')}` };
  return { kind: 'wasm', model, reason: `auto: ${native.reason}` };
}

export function createOcrEngine(spec: OcrEngineSpec): OcrEngine {
  return spec.kind === 'native'
    ? new NativeEngine({ model: spec.model, viaMain: spec.viaMain ?? false, recycleAfterPages: spec.recycleAfterPages })
    : new WasmEngine({ model: spec.model, recycleAfterPages: spec.recycleAfterPages, maxHeapMb: spec.maxHeapMb });
}
