// The WASM engine: tesseract's WASM core (tesseract.js-core) loaded in the pool thread itself, called
// the way tesseract.js's own worker script calls it (TessBaseAPI Init / SetImage / Recognize /
// GetTSVText, DetectOS for orientation), so no other thread starts: POOL_SIZE is the OCR concurrency.
// Calls are synchronous in this thread; a page that never ends is stopped by the pool's document
// deadline, which ends the thread (piscina starts a fresh one).
// The WASM heap only grows: the module is dropped (and rebuilt on the next page) after N pages or
// when its heap passes a bound, and after an idle spell so a text-only workload holds none of it.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { OcrEngine, OcrImage, OcrModel, OcrRead, OcrReadRequest, Orientation } from './engine.ts';
import { OcrEngineError, OcrTimeoutError, parseTsv } from './engine.ts';
import { modelBytes } from './models.ts';

const require = createRequire(import.meta.url);

/** Core builds, fastest first: relaxed SIMD (Node 24), SIMD, plain. The full builds include the legacy code OSD needs. */
const CORE_VARIANTS = ['relaxedsimd', 'simd', ''] as const;
/** An engine unused this long gives its WASM heap back; the next page rebuilds it (~0.2 s). */
export const WASM_IDLE_MS = 60_000;

/** The parts of the emscripten module and TessBaseAPI used here. */
type TessApi = {
  Init(datapath: string, langs: string, oem: number): number;
  SetVariable(name: string, value: string): boolean;
  SetImage(ptr: number, width: number, height: number, bytesPerPixel: number, bytesPerLine: number): void;
  SetSourceResolution(dpi: number): void;
  Recognize(monitor: null): number;
  GetTSVText(page: number): string;
  DetectOS(results: unknown): boolean;
  Clear(): void;
  End(): void;
};
type OsResults = { best_result: { orientation_id: number; oconfidence: number; script_id: number }; unicharset: { get_script_from_script_id(id: number): string } };
type CoreModule = {
  TessBaseAPI: new () => TessApi;
  OSResults: new () => OsResults;
  FS: { writeFile(path: string, data: Uint8Array): void; unlink(path: string): void };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  destroy(obj: unknown): void;
};
type Loaded = { module: CoreModule; memory: WasmMemory; apis: Map<string, TessApi>; pages: number };

// The WebAssembly global is not in this project's type libraries (no DOM lib): the few parts used.
type WasmMemory = { readonly buffer: ArrayBuffer };
type WasmInstance = { exports: Record<string, unknown> };
type WasmImports = Record<string, Record<string, unknown>>;
const Wasm = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: WasmImports): Promise<{ instance: WasmInstance }>; Memory: abstract new (...args: never[]) => WasmMemory };
}).WebAssembly;

const OEM_TESSERACT_ONLY = 0;
const OEM_LSTM_ONLY = 1;

/** Instantiates the first core build this runtime can run; captures its memory to pass pixels in. */
async function loadCore(): Promise<{ module: CoreModule; memory: WasmMemory }> {
  let lastError: unknown;
  for (const variant of CORE_VARIANTS) {
    const name = `tesseract.js-core/tesseract-core${variant ? `-${variant}` : ''}`;
    try {
      const factory = require(name) as (opts: object) => Promise<CoreModule>;
      const wasm = readFileSync(require.resolve(`${name}.wasm`));
      let memory: WasmMemory | undefined;
      // A build this runtime cannot compile fails here; the factory's own promise would never settle.
      let refuse: (err: unknown) => void = () => {};
      const refused = new Promise<never>((_, reject) => {
        refuse = reject;
      });
      const module = await Promise.race([refused, factory({
        // tesseract's own warnings ("Invalid resolution", "Estimating resolution") would flood the log.
        print: () => {},
        printErr: () => {},
        instantiateWasm(imports: WasmImports, done: (instance: WasmInstance) => void) {
          Wasm.instantiate(wasm, imports).then(({ instance }) => {
            const candidates = [...Object.values(instance.exports), ...Object.values(imports).flatMap((o) => Object.values(o))];
            memory = candidates.find((v): v is WasmMemory => v instanceof Wasm.Memory);
            done(instance);
          }, refuse);
          return {};
        },
      })]);
      if (!memory) throw new OcrEngineError(`${name}: its WASM memory was not found`);
      return { module, memory };
    } catch (err) {
      lastError = err;
    }
  }
  throw new OcrEngineError(`tesseract's WASM core did not load: ${(lastError as Error)?.message ?? String(lastError)}`, { cause: lastError });
}

export class WasmEngine implements OcrEngine {
  readonly kind = 'wasm';
  readonly model: OcrModel;
  readonly #recycleAfterPages: number;
  readonly #maxHeapBytes: number;
  readonly #idleMs: number;
  #loaded: Loaded | undefined;
  #loading: Promise<Loaded> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Times the module was dropped for its page count or heap size. */
  recycled = 0;

  constructor(opts: { model: OcrModel; recycleAfterPages: number; maxHeapMb: number; idleMs?: number }) {
    this.model = opts.model;
    this.#recycleAfterPages = opts.recycleAfterPages;
    this.#maxHeapBytes = opts.maxHeapMb * 1024 * 1024;
    this.#idleMs = opts.idleMs ?? WASM_IDLE_MS;
  }

  /** Bytes of WASM heap held now (0 when unloaded). */
  get heapBytes(): number {
    return this.#loaded?.memory.buffer.byteLength ?? 0;
  }

  async read(img: OcrImage, req: OcrReadRequest): Promise<OcrRead> {
    return this.#withImage(img, req.timeoutMs, req.langs, OEM_LSTM_ONLY, (api) => {
      api.SetVariable('tessedit_pageseg_mode', String(req.psm ?? 3));
      if (api.Recognize(null) !== 0) throw new OcrEngineError('tesseract could not recognise the page');
      return parseTsv(api.GetTSVText(0));
    });
  }

  async orientation(img: OcrImage, timeoutMs: number): Promise<Orientation | undefined> {
    return this.#withImage(img, timeoutMs, 'osd', OEM_TESSERACT_ONLY, (api, module) => {
      const results = new module.OSResults();
      try {
        if (!api.DetectOS(results)) return undefined;
        const best = results.best_result;
        const rotation = ([0, 270, 180, 90] as const)[best.orientation_id];
        if (rotation === undefined) return undefined;
        return { rotation, confidence: best.oconfidence, script: results.unicharset.get_script_from_script_id(best.script_id) };
      } finally {
        module.destroy(results);
      }
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    await this.#loading?.catch(() => undefined);
    this.#drop();
  }

  async #withImage<T>(img: OcrImage, timeoutMs: number, langs: string, oem: number, use: (api: TessApi, module: CoreModule) => T): Promise<T> {
    if (timeoutMs <= 0) throw new OcrTimeoutError('page OCR deadline reached');
    clearTimeout(this.#idleTimer);
    const loaded = await this.#load();
    const { module, memory } = loaded;
    const api = this.#api(loaded, langs, oem);
    const ptr = module._malloc(img.data.length);
    if (!ptr) {
      this.#drop();
      throw new OcrEngineError(`tesseract's WASM heap cannot hold a ${img.width}x${img.height} page`);
    }
    try {
      // Read the buffer after malloc: growing the heap replaces memory.buffer.
      new Uint8Array(memory.buffer, ptr, img.data.length).set(img.data);
      api.SetImage(ptr, img.width, img.height, 1, img.width);
      api.SetSourceResolution(img.dpi);
      return use(api, module);
    } catch (err) {
      // A WASM trap (out of memory, abort) leaves the module unusable: start afresh next page.
      this.#drop();
      if (err instanceof OcrEngineError) throw err;
      throw new OcrEngineError(`tesseract (WASM) failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      if (this.#loaded === loaded) {
        api.Clear();
        module._free(ptr);
        loaded.pages++;
        if (loaded.pages >= this.#recycleAfterPages || memory.buffer.byteLength > this.#maxHeapBytes) {
          this.recycled++;
          this.#drop();
        }
      }
      this.#armIdle();
    }
  }

  async #load(): Promise<Loaded> {
    if (this.#loaded) return this.#loaded;
    this.#loading ??= loadCore().then(({ module, memory }) => ({ module, memory, apis: new Map(), pages: 0 }));
    try {
      this.#loaded = await this.#loading;
      return this.#loaded;
    } finally {
      this.#loading = undefined;
    }
  }

  /**
   * A TessBaseAPI for the language set, initialised once per module (the model files are removed from
   * the in-memory FS after Init). One recognition API at a time (plus OSD's): another language set
   * (jpn+eng for a page eng+jpn reads poorly) replaces it, since each holds its own copy of the models
   * (eng+jpn ~50 MB of heap) and the heap never shrinks; re-initialising costs ~0.1-0.3 s, on poor pages only.
   */
  #api(loaded: Loaded, langs: string, oem: number): TessApi {
    const have = loaded.apis.get(langs);
    if (have) return have;
    if (oem === OEM_LSTM_ONLY) {
      for (const [key, api] of loaded.apis) {
        if (key === 'osd') continue;
        api.End();
        loaded.apis.delete(key);
      }
    }
    const codes = langs.split('+');
    for (const code of codes) loaded.module.FS.writeFile(`/${code}.traineddata`, modelBytes(code, this.model));
    const api = new loaded.module.TessBaseAPI();
    const status = api.Init('/', langs, oem);
    for (const code of codes) loaded.module.FS.unlink(`/${code}.traineddata`);
    if (status !== 0) throw new OcrEngineError(`tesseract (WASM) could not load ${langs} (${this.model} models)`);
    loaded.apis.set(langs, api);
    return api;
  }

  #drop(): void {
    const loaded = this.#loaded;
    this.#loaded = undefined;
    if (!loaded) return;
    for (const api of loaded.apis.values()) {
      try {
        api.End();
      } catch {
        // A trapped module may refuse; it is dropped either way and its memory collected with it.
      }
    }
    loaded.apis.clear();
  }

  #armIdle(): void {
    if (!this.#idleMs || !this.#loaded) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#drop(), this.#idleMs);
    this.#idleTimer.unref();
  }
}
