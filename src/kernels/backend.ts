/**
 * Which kernels run float32 matrix products and convolutions: the WebAssembly SIMD kernels
 * ('wasm') or the plain TypeScript ones ('js'). The default ('auto') uses WASM wherever
 * WebAssembly SIMD is available and falls back to TypeScript elsewhere. float64 always runs in
 * TypeScript.
 *
 * Override with `setBackend`, or for a whole process (tests, CI) with the environment variable
 * `METAGRAD_BACKEND=js|wasm|auto`.
 */
import { loadWasm, loadWasmSync, type WasmKernels } from './wasm.js';
import { checkOptionsObject } from '../checks.js';

/** A kernel backend. */
export type BackendName = 'wasm' | 'js';
/** What a user may ask for. */
export type BackendChoice = BackendName | 'auto';

function fromEnv(): BackendChoice {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.METAGRAD_BACKEND;
  if (v === undefined || v === '') return 'auto';
  if (v === 'js' || v === 'wasm' || v === 'auto') return v;
  throw new RangeError(`METAGRAD_BACKEND must be 'js', 'wasm' or 'auto', got '${v}'`);
}

let choice: BackendChoice = fromEnv();
let relaxedAllowed = true;
/** undefined: not tried yet; null: unavailable. */
let loaded: WasmKernels | null | undefined;

function tryLoad(): WasmKernels | null {
  if (loaded === undefined) loaded = loadWasmSync(relaxedAllowed);
  return loaded;
}

/**
 * Selects the kernel backend. `'wasm'` throws if WebAssembly SIMD is unavailable.
 * `relaxedSimd: false` keeps the plain-SIMD build even where relaxed SIMD (fused multiply-add)
 * is accepted, for bit-identical results across runtimes.
 */
export function setBackend(name: BackendChoice, options: { relaxedSimd?: boolean } = {}): void {
  checkOptionsObject('setBackend', options, { relaxedSimd: 'flag' }, '{ relaxedSimd: false }');
  if (name !== 'js' && name !== 'wasm' && name !== 'auto') throw new RangeError(`setBackend: expected 'js', 'wasm' or 'auto', got '${String(name)}'`);
  if (options.relaxedSimd !== undefined && options.relaxedSimd !== relaxedAllowed) {
    relaxedAllowed = options.relaxedSimd;
    loaded = undefined;
  }
  if (name === 'wasm' && tryLoad() === null) {
    throw new Error('setBackend: WebAssembly SIMD is not available in this runtime (or synchronous compilation was refused: await ready() first)');
  }
  choice = name;
}

/** The backend float32 kernels run on now. */
export function getBackend(): BackendName {
  return wasmKernels() === null ? 'js' : 'wasm';
}

/** Details of the running backend, for logs and benchmark reports. */
export function backendInfo(): { backend: BackendName; variant: string } {
  const k = wasmKernels();
  return { backend: k === null ? 'js' : 'wasm', variant: k === null ? 'typescript' : k.variant };
}

/**
 * Loads the WASM kernels asynchronously (needed on a browser's main thread, harmless
 * elsewhere) and returns the backend in use.
 */
export async function ready(): Promise<BackendName> {
  if (choice !== 'js' && loaded === undefined) loaded = await loadWasm(relaxedAllowed);
  if (choice === 'wasm' && loaded === null) throw new Error('ready: METAGRAD_BACKEND/setBackend asks for wasm, but WebAssembly SIMD is not available');
  return getBackend();
}

/** @internal The WASM kernels if they should be used, else null. */
export function wasmKernels(): WasmKernels | null {
  if (choice === 'js') return null;
  const k = tryLoad();
  if (k === null && choice === 'wasm') throw new Error('METAGRAD_BACKEND=wasm, but WebAssembly SIMD is not available in this runtime');
  return k;
}
