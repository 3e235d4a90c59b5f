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
import type { ConvGeometry } from './geometry.js';
import { collapseAxes } from './reduce.js';
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
  binary2d(op: number, a: number, aRow: number, as: number, b: number, bRow: number, bs: number, out: number, rows: number, cols: number): void;
  unary(op: number, x: number, out: number, n: number, p: number): void;
  stepMul(g: number, x: number, out: number, n: number, p: number): void;
  sumLeading(x: number, rows: number, cols: number, out: number): void;
  sumTrailing(x: number, rows: number, cols: number, out: number): void;
  batchNormForward(x: number, rows: number, c: number, gamma: number, beta: number, eps: number, out: number, xhat: number, invStd: number, mean: number): void;
  batchNormBackward(g: number, xhat: number, invStd: number, gamma: number, rows: number, c: number, dx: number, dgamma: number, dbeta: number): void;
  adam(p: number, g: number, m: number, v: number, out: number, n: number, b1: number, b2: number, stepSize: number, epsHat: number): void;
}

/** Operation codes of the WASM `binary2d` kernel. */
export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3 } as const;
/** Operation codes of the WASM `unary` kernel (`step` is x > 0 ? 1 : p, `scale` is x·p). */
export const UNARY_OPS = { relu: 0, neg: 2, square: 3, scale: 4, sqrt: 5 } as const;


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

/** @internal `bytes` rounded up to a multiple of 16, exact past 2 GiB (a bitwise `&` would wrap at 2³¹). */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** The most a WebAssembly (32-bit) memory can hold: 65,536 pages of 64 KiB. */
const WASM_MEMORY_LIMIT = 65536 * 65536;

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
    if (need > WASM_MEMORY_LIMIT) {
      throw new RangeError(`WASM kernels: this call needs ${need} bytes of WebAssembly memory, more than the 4 GiB one can hold; use smaller tensors or setBackend('js')`);
    }
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
   * For benchmarks: copies `a` and `b` into the arena once; `run` computes the packed product on
   * them there, so its timing is the kernel alone (no copies, no allocation), and
   * `read` copies the last result out. Both are valid until the next kernel call reuses the arena.
   */
  residentGemm(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transA: boolean, transB: boolean): { run: () => void; read: () => Float32Array } {
    if (a.length !== m * k || b.length !== k * n) throw new RangeError(`residentGemm: operands of ${a.length} and ${b.length} floats for a ${m}×${k}·${k}×${n} product`);
    const bAt = align16(a.length * 4);
    const cAt = align16(bAt + b.length * 4);
    const packAt = align16(cAt + m * n * 4);
    const mem = this.arena(packAt + this.ex.gemmScratchFloats(n, k) * 4);
    const base = this.base;
    mem.set(a, base >> 2);
    mem.set(b, (base + bAt) >> 2);
    const tA = transA ? 1 : 0, tB = transB ? 1 : 0;
    return {
      run: () => this.ex.gemmPacked(base, base + bAt, base + cAt, m, n, k, tA, tB, base + packAt),
      read: () => {
        const c = new Float32Array(m * n);
        this.fetch(base + cAt, c);
        return c;
      },
    };
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

  /**
   * Lays out `ins` (copied in) followed by `outs[i]` floats of output space each, 16-byte
   * aligned, in the arena; returns their byte addresses in that order.
   */
  private place(ins: readonly Float32Array[], outs: readonly number[]): number[] {
    const at: number[] = [];
    let end = 0;
    for (const x of ins) {
      at.push(end);
      end = align16(end + x.length * 4);
    }
    for (const n of outs) {
      at.push(end);
      end = align16(end + n * 4);
    }
    const mem = this.arena(end);
    ins.forEach((x, i) => mem.set(x, (this.base + at[i]!) >> 2));
    return at.map((a) => this.base + a);
  }

  /** Copies `out.length` floats at byte address `addr` into `out`. */
  private fetch(addr: number, out: Float32Array): void {
    out.set(this.f32.subarray(addr >> 2, (addr >> 2) + out.length));
  }

  /**
   * `out = a ∘ b` over `shape`, reading `a` and `b` through broadcast strides (0 on broadcast
   * axes). Axes are collapsed where both operands allow; the two innermost collapsed axes run in
   * one call, any outer ones in a loop here.
   */
  binary(op: keyof typeof BINARY_OPS, a: Float32Array, aStr: readonly number[], b: Float32Array, bStr: readonly number[], shape: readonly number[], out: Float32Array): void {
    const { lens, sa, sb } = collapse(shape, aStr, bStr);
    const [pa, pb, po] = this.place([a, b], [out.length]) as [number, number, number];
    const m = lens.length;
    const cols = m > 0 ? lens[m - 1]! : 1;
    const rows = m > 1 ? lens[m - 2]! : 1;
    const as = m > 0 ? sa[m - 1]! : 0, bs = m > 0 ? sb[m - 1]! : 0;
    const aRow = m > 1 ? sa[m - 2]! : 0, bRow = m > 1 ? sb[m - 2]! : 0;
    const code = BINARY_OPS[op];
    const blocks = out.length / Math.max(1, rows * cols);
    const idx = new Array<number>(Math.max(0, m - 2)).fill(0);
    let ai = 0, bi = 0;
    for (let blk = 0; blk < blocks; blk++) {
      this.ex.binary2d(code, pa + ai * 4, aRow, as, pb + bi * 4, bRow, bs, po + blk * rows * cols * 4, rows, cols);
      for (let d = m - 3; d >= 0; d--) {
        idx[d]!++;
        ai += sa[d]!;
        bi += sb[d]!;
        if (idx[d]! < lens[d]!) break;
        ai -= sa[d]! * lens[d]!;
        bi -= sb[d]! * lens[d]!;
        idx[d] = 0;
      }
    }
    this.fetch(po, out);
  }

  /** `out[i] = f(x[i])` for an op of {@link UNARY_OPS} with parameter `p`. */
  unary(op: keyof typeof UNARY_OPS, x: Float32Array, p: number, out: Float32Array): void {
    const [px, po] = this.place([x], [out.length]) as [number, number];
    this.ex.unary(UNARY_OPS[op], px, po, out.length, p);
    this.fetch(po, out);
  }

  /** `out = g · (x > 0 ? 1 : p)` elementwise: relu's and leaky relu's backward in one pass. */
  stepMul(g: Float32Array, x: Float32Array, p: number, out: Float32Array): void {
    const [pg, px, po] = this.place([g, x], [out.length]) as [number, number, number];
    this.ex.stepMul(pg, px, po, out.length, p);
    this.fetch(po, out);
  }

  /**
   * Sums `x` (shape `shape`) over `axes` into `out` when the reduction collapses to alternating
   * blocks ending in a kept axis ([…, reduced, kept]) or to [kept, reduced]; returns false
   * (nothing written) for other patterns, which the caller computes in TypeScript.
   */
  sumAxes(x: Float32Array, shape: readonly number[], axes: readonly number[], out: Float32Array): boolean {
    const { lens, red } = collapseAxes(shape, axes);
    const m = lens.length;
    let run: (pIn: number, pOut: number) => void;
    if (m === 1 && red[0]) run = (pi, po) => this.ex.sumTrailing(pi, 1, lens[0]!, po);
    else if (m === 2 && red[0] && !red[1]) run = (pi, po) => this.ex.sumLeading(pi, lens[0]!, lens[1]!, po);
    else if (m === 2 && !red[0] && red[1]) run = (pi, po) => this.ex.sumTrailing(pi, lens[0]!, lens[1]!, po);
    else if (m === 3 && !red[0] && red[1] && !red[2]) {
      run = (pi, po) => {
        for (let i = 0; i < lens[0]!; i++) this.ex.sumLeading(pi + i * lens[1]! * lens[2]! * 4, lens[1]!, lens[2]!, po + i * lens[2]! * 4);
      };
    } else return false;
    const [px, po] = this.place([x], [out.length]) as [number, number];
    this.f32.fill(0, po >> 2, (po >> 2) + out.length);
    run(px, po);
    this.fetch(po, out);
    return true;
  }

  /** Batch-norm forward over x[rows, c] (see kernels/batchnorm.ts); `xhat` null: not kept; `mean` given: μ written there. */
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, c: number, out: Float32Array, xhat: Float32Array | null, invStd: Float32Array, mean: Float32Array | null = null): void {
    const [px, pg, pb, po, ph, pi, pm] = this.place([x, gamma, beta], [out.length, xhat === null ? 0 : out.length, c, c]) as [number, number, number, number, number, number, number];
    this.ex.batchNormForward(px, x.length / c, c, pg, pb, eps, po, xhat === null ? po : ph, pi, pm);
    this.fetch(po, out);
    if (xhat !== null) this.fetch(ph, xhat);
    this.fetch(pi, invStd);
    if (mean !== null) this.fetch(pm, mean);
  }

  /** First-order batch-norm backward from the saved x̂ and 1/σ (see kernels/batchnorm.ts). */
  batchNormBackward(g: Float32Array, xhat: Float32Array, invStd: Float32Array, gamma: Float32Array, c: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void {
    const [pg, ph, pi, pga, pdx, pdg, pdb] = this.place([g, xhat, invStd, gamma], [dx.length, c, c]) as [number, number, number, number, number, number, number];
    this.ex.batchNormBackward(pg, ph, pi, pga, g.length / c, c, pdx, pdg, pdb);
    this.fetch(pdx, dx);
    this.fetch(pdg, dgamma);
    this.fetch(pdb, dbeta);
  }

  /** One Adam step (see optim/adam.ts); updates `m` and `v` in place and writes `out`. */
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, b1: number, b2: number, stepSize: number, epsHat: number): void {
    const [pp, pg, pm, pv, po] = this.place([p, g, m, v], [out.length]) as [number, number, number, number, number];
    this.ex.adam(pp, pg, pm, pv, po, out.length, b1, b2, stepSize, epsHat);
    this.fetch(pm, m);
    this.fetch(pv, v);
    this.fetch(po, out);
  }

  /** The peak microbenchmark: `iters` × 96 flops of independent f32x4 multiply-adds. */
  peak(iters: number): number {
    return this.ex.peakMadd(iters, 1.0001);
  }
}

/**
 * Drops length-1 axes and merges adjacent axes wherever both operands' strides allow (stride of
 * the outer = stride of the inner × its length, true of contiguous and of broadcast axes alike).
 */
function collapse(shape: readonly number[], aStr: readonly number[], bStr: readonly number[]): { lens: number[]; sa: number[]; sb: number[] } {
  const lens: number[] = [], sa: number[] = [], sb: number[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const k = lens.length - 1;
    if (k >= 0 && sa[k] === aStr[d]! * n && sb[k] === bStr[d]! * n) {
      lens[k]! *= n;
      sa[k] = aStr[d]!;
      sb[k] = bStr[d]!;
    } else {
      lens.push(n);
      sa.push(aStr[d]!);
      sb.push(bStr[d]!);
    }
  });
  return { lens, sa, sb };
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
