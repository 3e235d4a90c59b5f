/**
 * The WebAssembly kernels and their memory. Tensors live in JavaScript typed arrays; a call
 * copies its operands into a scratch arena in the module's memory (above `heapBase`), runs
 * there, and copies the result out. The arena grows with `memory.grow` when a call needs more,
 * and the Float32Array view over it is re-created whenever the buffer changed (a grow detaches
 * the old one). Memory never shrinks, so a loop of same-sized calls reaches a fixed size and
 * stays there.
 *
 * Design note: copying costs O(m·k + k·n + m·n) per product against O(m·k·n) work, under 5% at
 * the sizes the engine meets; keeping tensors in WASM memory instead would need manual freeing
 * (as TensorFlow.js's `dispose`/`tidy`), which this library avoids.
 */
import type { ConvGeometry } from './conv.js';
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './wasm-binary.generated.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  gemmScratchFloats(n: number, k: number): number;
  gemmPacked(a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number, pack: number): void;
  gemmSmall(a: number, b: number, c: number, m: number, n: number, k: number, transA: number, transB: number): void;
  peakMadd(iters: number, x: number): number;
  im2col(x: number, n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, oh: number, ow: number, cols: number): void;
  col2im(cols: number, n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, oh: number, ow: number, x: number): void;
}


/** Which build of the kernels is running. */
export type WasmVariant = 'simd' | 'relaxed-simd';

/** Products with at most this many multiply-adds skip packing. */
const SMALL_GEMM_MACS = 2048;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const align16 = (bytes: number): number => (bytes + 15) & ~15;

/** A loaded kernel module with its arena. */
export class WasmKernels {
  private readonly ex: KernelExports;
  private readonly base: number;
  private f32: Float32Array;

  constructor(
    instance: WebAssembly.Instance,
    readonly variant: WasmVariant,
  ) {
    this.ex = instance.exports as unknown as KernelExports;
    this.base = this.ex.heapBase();
    this.f32 = new Float32Array(this.ex.memory.buffer);
  }

  /** Current size of the module's memory in bytes. */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** Reserves `bytes` of arena and returns a valid Float32Array view of the whole memory. */
  arena(bytes: number): Float32Array {
    const mem = this.ex.memory;
    const need = this.base + bytes;
    if (need > mem.buffer.byteLength) {
      const pages = Math.ceil((need - mem.buffer.byteLength) / 65536);
      try {
        mem.grow(pages);
      } catch (e) {
        throw new RangeError(`WASM kernels: cannot grow memory to ${need} bytes (${String(e)}); use smaller tensors or setBackend('js')`);
      }
    }
    if (this.f32.buffer !== mem.buffer) this.f32 = new Float32Array(mem.buffer);
    return this.f32;
  }

  /** Byte address of arena offset `bytes`. */
  addr(bytes: number): number {
    return this.base + bytes;
  }

  /**
   * Batched float32 gemm with the same contract as `gemmBatched` in gemm.ts: product i reads A
   * at float offset aOffs[i] and B at bOffs[i], and writes C at i·m·n.
   */
  gemm(a: Float32Array, aOffs: Int32Array, b: Float32Array, bOffs: Int32Array, c: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
    const small = m * n * k <= SMALL_GEMM_MACS;
    const aAt = 0;
    const bAt = align16(aAt + a.length * 4);
    const cAt = align16(bAt + b.length * 4);
    const packAt = align16(cAt + c.length * 4);
    const end = packAt + (small ? 0 : this.ex.gemmScratchFloats(n, k) * 4);
    const mem = this.arena(end);
    const base = this.base;
    mem.set(a, (base + aAt) >> 2);
    mem.set(b, (base + bAt) >> 2);
    const tA = transA ? 1 : 0;
    const tB = transB ? 1 : 0;
    const mn = m * n;
    for (let i = 0; i < batch; i++) {
      const pa = base + aAt + aOffs[i]! * 4;
      const pb = base + bAt + bOffs[i]! * 4;
      const pc = base + cAt + i * mn * 4;
      if (small) this.ex.gemmSmall(pa, pb, pc, m, n, k, tA, tB);
      else this.ex.gemmPacked(pa, pb, pc, m, n, k, tA, tB, base + packAt);
    }
    const c0 = (base + cAt) >> 2;
    c.set(mem.subarray(c0, c0 + c.length));
  }

  /**
   * The three convolution products, entirely in WASM memory (NHWC, HWIO filters, `o` output
   * channels): 'forward' out = im2col(x)·w; 'input' out = col2im(dy·wᵀ); 'filter'
   * out = im2col(x)ᵀ·dy. `a` and `b` are the two operands in that order.
   */
  conv(kind: 'forward' | 'input' | 'filter', a: Float32Array, b: Float32Array, g: ConvGeometry, o: number, out: Float32Array): void {
    const rows = g.n * g.oh * g.ow;
    const k = g.kh * g.kw * g.c;
    const aAt = 0;
    const bAt = align16(aAt + a.length * 4);
    const colsAt = align16(bAt + b.length * 4);
    const outAt = align16(colsAt + rows * k * 4);
    const packAt = align16(outAt + out.length * 4);
    const [gm, gn, gk] = kind === 'forward' ? [rows, o, k] : kind === 'input' ? [rows, k, o] : [k, o, rows];
    const mem = this.arena(packAt + this.ex.gemmScratchFloats(gn, gk) * 4);
    const base = this.base;
    mem.set(a, (base + aAt) >> 2);
    mem.set(b, (base + bAt) >> 2);
    const ex = this.ex;
    const geo = [g.n, g.h, g.w, g.c, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.oh, g.ow] as const;
    if (kind === 'forward') {
      ex.im2col(base + aAt, ...geo, base + colsAt);
      ex.gemmPacked(base + colsAt, base + bAt, base + outAt, gm, gn, gk, 0, 0, base + packAt);
    } else if (kind === 'input') {
      ex.gemmPacked(base + aAt, base + bAt, base + colsAt, gm, gn, gk, 0, 1, base + packAt);
      ex.col2im(base + colsAt, ...geo, base + outAt);
    } else {
      ex.im2col(base + aAt, ...geo, base + colsAt);
      ex.gemmPacked(base + colsAt, base + bAt, base + outAt, gm, gn, gk, 1, 0, base + packAt);
    }
    const o0 = (base + outAt) >> 2;
    out.set(mem.subarray(o0, o0 + out.length));
  }

  /** The peak microbenchmark: `iters` × 96 flops of independent f32x4 multiply-adds. */
  peak(iters: number): number {
    return this.ex.peakMadd(iters, 1.0001);
  }
}

function candidates(): [WasmVariant, Uint8Array<ArrayBuffer>][] {
  return [
    ['relaxed-simd', decode(RELAXED_WASM_BASE64)],
    ['simd', decode(SIMD_WASM_BASE64)],
  ];
}

/**
 * Compiles the best build the runtime accepts (relaxed SIMD, else SIMD), synchronously.
 * Returns null where WebAssembly SIMD is missing or synchronous compilation is refused (a
 * browser's main thread refuses large modules: call the async `loadWasm` there).
 */
export function loadWasmSync(allowRelaxed = true): WasmKernels | null {
  if (typeof WebAssembly !== 'object') return null;
  for (const [variant, bytes] of candidates()) {
    if (variant === 'relaxed-simd' && !allowRelaxed) continue;
    if (!WebAssembly.validate(bytes)) continue;
    try {
      return new WasmKernels(new WebAssembly.Instance(new WebAssembly.Module(bytes), {}), variant);
    } catch {
      return null;
    }
  }
  return null;
}

/** Asynchronous {@link loadWasmSync}, for browsers' main threads. */
export async function loadWasm(allowRelaxed = true): Promise<WasmKernels | null> {
  if (typeof WebAssembly !== 'object') return null;
  for (const [variant, bytes] of candidates()) {
    if (variant === 'relaxed-simd' && !allowRelaxed) continue;
    if (!WebAssembly.validate(bytes)) continue;
    const module = await WebAssembly.compile(bytes);
    return new WasmKernels(await WebAssembly.instantiate(module, {}), variant);
  }
  return null;
}
