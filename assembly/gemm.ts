// Single-precision matrix multiply C = op(A)·op(B) with f32x4 SIMD.
//
// Layout (all row-major, pointers are byte addresses in this module's memory):
//   A is stored [m,k] (or [k,m] when transA), B is [k,n] (or [n,k] when transB), C is [m,n].
//
// Large products: GotoBLAS-style blocking. For each block of KC rows of op(B), op(B) is packed
// into column panels of NR = 8 (a panel row is 8 contiguous floats), and each block of MC rows
// of op(A) into row panels of MR = 5. The 5×8 micro-kernel keeps its 10 f32x4 accumulators in
// registers and, per step, loads two vectors of B and broadcast-loads five scalars of A: 20
// multiply-adds for 7 loads. It measured 7% faster than a 4×8 kernel in the plain build and 10%
// faster with fused multiply-add (256³, this machine); a 6×8 tile needs 12 accumulators plus
// the B vectors and spills on x86's 16 XMM registers (measured with fused multiply-add too:
// 22 GFLOP/s against 46). Five also divides the few-shot row counts (10 support images, 250
// stacked sine points, 1960 conv pixels). Packing absorbs the transposes, so every transpose
// variant runs the same micro-kernel; a small untransposed B is read in place.
// Unrolling the k loop was measured slower (V8 spills), so it stays one step per trip.
//
// Tiny products (few-shot layers such as [10×1]·[1×40]) skip packing: see gemmSmall.

import { madd } from './simd';

const MR: i32 = 5;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 60;
/** Largest op(B) (in floats) the kernels read in place instead of packing. */
const DIRECT_B_FLOATS: usize = 4096;

/** Floats of scratch gemm needs at `pack` for an n-column product. */
export function gemmScratchFloats(n: i32, k: i32): i32 {
  const kc = min(k, KC);
  const nPad = (n + NR - 1) / NR * NR;
  return MC * kc + kc * nPad + MR * NR;
}

// Element (i, p) of op(A), where lda is the stored row length.
// @ts-ignore: decorator
@inline
function elemA(a: usize, lda: i32, transA: bool, i: i32, p: i32): f32 {
  return transA ? load<f32>(a + ((<usize>p * lda + i) << 2)) : load<f32>(a + ((<usize>i * lda + p) << 2));
}

// Writes the transpose of the 4×4 block whose rows start at r0..r3 as four vectors `step` bytes
// apart from dst (row p of the result holds element p of each source row).
// @ts-ignore: decorator
@inline
function transpose4Strided(r0: usize, r1: usize, r2: usize, r3: usize, dst: usize, step: usize): void {
  const x0 = v128.load(r0), x1 = v128.load(r1), x2 = v128.load(r2), x3 = v128.load(r3);
  const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7); // a2 b2 a3 b3
  const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5); // c0 d0 c1 d1
  const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7); // c2 d2 c3 d3
  v128.store(dst, i64x2.shuffle(t0, t2, 0, 2));
  v128.store(dst + step, i64x2.shuffle(t0, t2, 1, 3));
  v128.store(dst + 2 * step, i64x2.shuffle(t1, t3, 0, 2));
  v128.store(dst + 3 * step, i64x2.shuffle(t1, t3, 1, 3));
}

// Eight rows `stride` bytes apart, four values each: packed as four 8-float rows at dst.
// @ts-ignore: decorator
@inline
function transpose4x2(r0: usize, stride: usize, dst: usize): void {
  transpose4Strided(r0, r0 + stride, r0 + 2 * stride, r0 + 3 * stride, dst, 32);
  transpose4Strided(r0 + 4 * stride, r0 + 5 * stride, r0 + 6 * stride, r0 + 7 * stride, dst + 16, 32);
}

// Packs rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) into MR-row panels: panel q holds, for
// each p, the MR values of rows i0+q*MR .. +MR (zero past the edge).
function packA(a: usize, lda: i32, transA: bool, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const panel = dst + ((<usize>ir * kc) << 2);
    if (transA && rows == MR) {
      // The MR values of a column of op(A) are contiguous in A^T storage: four as a vector, one more.
      for (let p = 0; p < kc; p++) {
        const src = a + ((<usize>(p0 + p) * lda + i0 + ir) << 2);
        const d = panel + <usize>p * (MR << 2);
        v128.store(d, v128.load(src));
        store<f32>(d, load<f32>(src, 16), 16);
      }
    } else if (!transA && rows == MR) {
      // Rows 0–3, four values of p at a time, as a 4×4 transpose in registers; row 4 copied.
      const r0 = a + ((<usize>(i0 + ir) * lda + p0) << 2);
      const stride = <usize>lda << 2;
      const step = <usize>MR << 2;
      const kc4 = kc & ~3;
      let p = 0;
      for (; p < kc4; p += 4) {
        const o = <usize>p << 2;
        transpose4Strided(r0 + o, r0 + stride + o, r0 + 2 * stride + o, r0 + 3 * stride + o, panel + <usize>p * step, step);
      }
      for (; p < kc; p++) {
        const o = <usize>p << 2;
        const d = panel + <usize>p * step;
        store<f32>(d, load<f32>(r0 + o));
        store<f32>(d, load<f32>(r0 + stride + o), 4);
        store<f32>(d, load<f32>(r0 + 2 * stride + o), 8);
        store<f32>(d, load<f32>(r0 + 3 * stride + o), 12);
      }
      const r4 = r0 + 4 * stride;
      for (p = 0; p < kc; p++) store<f32>(panel + <usize>p * step, load<f32>(r4 + (<usize>p << 2)), 16);
    } else {
      for (let r = 0; r < MR; r++) {
        if (r < rows) {
          for (let p = 0; p < kc; p++) store<f32>(panel + ((<usize>p * MR + r) << 2), elemA(a, lda, transA, i0 + ir + r, p0 + p));
        } else {
          for (let p = 0; p < kc; p++) store<f32>(panel + ((<usize>p * MR + r) << 2), 0);
        }
      }
    }
  }
}

// Packs rows [p0, p0+kc) × all n columns of op(B) into NR-column panels: panel q holds, for each
// p, the NR values of columns q*NR .. +NR (zero past the edge).
function packB(b: usize, ldb: i32, transB: bool, p0: i32, kc: i32, n: i32, dst: usize): void {
  for (let j0 = 0; j0 < n; j0 += NR) {
    const cols = min(NR, n - j0);
    const panel = dst + ((<usize>j0 * kc) << 2);
    if (!transB && cols == NR) {
      for (let p = 0; p < kc; p++) {
        const src = b + ((<usize>(p0 + p) * ldb + j0) << 2);
        const d = panel + (<usize>p << 5);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
      }
    } else if (!transB) {
      for (let p = 0; p < kc; p++) {
        const src = b + ((<usize>(p0 + p) * ldb + j0) << 2);
        const d = panel + (<usize>p << 5);
        for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
      }
    } else if (cols == NR) {
      // op(B)(p, j) = B[j, p]: rows j0..j0+7 of B, four values of p at a time, as two 4×4
      // transposes (columns 0–3 and 4–7 of each packed row).
      const r0 = b + ((<usize>j0 * ldb + p0) << 2);
      const stride = <usize>ldb << 2;
      const kc4 = kc & ~3;
      let p = 0;
      for (; p < kc4; p += 4) {
        const o = <usize>p << 2;
        const d = panel + (<usize>p << 5);
        transpose4x2(r0 + o, stride, d);
      }
      for (; p < kc; p++) {
        const o = <usize>p << 2;
        const d = panel + (<usize>p << 5);
        for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), load<f32>(r0 + <usize>c * stride + o));
      }
    } else {
      // op(B)(p, j) = B[j, p]: column j of op(B) is row j of B, contiguous in p.
      for (let c = 0; c < NR; c++) {
        if (c < cols) {
          const src = b + ((<usize>(j0 + c) * ldb + p0) << 2);
          for (let p = 0; p < kc; p++) store<f32>(panel + ((<usize>p * NR + c) << 2), load<f32>(src + (<usize>p << 2)));
        } else {
          for (let p = 0; p < kc; p++) store<f32>(panel + ((<usize>p * NR + c) << 2), 0);
        }
      }
    }
  }
}

// The micro-kernel: a 5-row panel times an 8-column panel, ten f32x4 accumulators. Edge panels
// of three or four rows run it too (their packed rows past mr are zero; only mr rows are kept).
function kernel5x8(ap: usize, bp: usize, bStep: usize, kc: i32, c: usize, ldc: i32, accumulate: bool, mr: i32, nr: i32, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  // Both builds broadcast A with loads: one load and four lane shuffles for rows 0–3 measured 33
  // against 36 GFLOP/s at 256³ in the plain build.
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(ap);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(ap, 4);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(ap, 8);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(ap, 12);
    c30 = madd(a3, b0, c30);
    c31 = madd(a3, b1, c31);
    const a4 = v128.load32_splat(ap, 16);
    c40 = madd(a4, b0, c40);
    c41 = madd(a4, b1, c41);
    ap += MR << 2;
    bp += bStep;
  }
  const full = mr == MR && nr == NR;
  const dst = full ? c : tmp;
  const step: usize = full ? <usize>ldc << 2 : <usize>NR << 2;
  const acc = full && accumulate;
  storeRow(dst, c00, c01, acc);
  storeRow(dst + step, c10, c11, acc);
  storeRow(dst + 2 * step, c20, c21, acc);
  storeRow(dst + 3 * step, c30, c31, acc);
  storeRow(dst + 4 * step, c40, c41, acc);
  if (!full) flushTile(tmp, c, <usize>ldc << 2, accumulate, mr, nr);
}

// Stores (or adds) one 8-float row of a tile, given as two vectors, at `dst`.
// @ts-ignore: decorator
@inline
function storeRow(dst: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    v128.store(dst, f32x4.add(v128.load(dst), lo));
    v128.store(dst, f32x4.add(v128.load(dst, 16), hi), 16);
  } else {
    v128.store(dst, lo);
    v128.store(dst, hi, 16);
  }
}

// Copies (or adds) the valid mr×nr corner of a scratch tile (rows of NR floats) into C.
function flushTile(tmp: usize, c: usize, rowBytes: usize, accumulate: bool, mr: i32, nr: i32): void {
  for (let r = 0; r < mr; r++) {
    const crow = c + <usize>r * rowBytes;
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(tmp + ((<usize>r * NR + j) << 2));
      const dst = crow + (<usize>j << 2);
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

// The micro-kernel for an edge tile of one or two rows (m ≡ 1, 2 mod 5): the same packed
// panels, under half the arithmetic of running kernel5x8 on zero rows.
function kernel2x8(ap: usize, bp: usize, bStep: usize, kc: i32, c: usize, ldc: i32, accumulate: bool, mr: i32, nr: i32, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(ap);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(ap, 4);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    ap += MR << 2;
    bp += bStep;
  }
  storeRow(tmp, c00, c01, false);
  storeRow(tmp + (<usize>NR << 2), c10, c11, false);
  flushTile(tmp, c, <usize>ldc << 2, accumulate, mr, nr);
}

/** Blocked, packed gemm. `pack` must hold gemmScratchFloats(n, k) floats (16-byte aligned). */
export function gemmPacked(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool, pack: usize): void {
  if (k == 0) {
    memory.fill(c, 0, (<usize>m * n) << 2);
    return;
  }
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  const kcMax = min(k, KC);
  const packedA = pack;
  const packedB = pack + ((<usize>MC * kcMax) << 2);
  const nPad = (n + NR - 1) / NR * NR;
  const tmp = packedB + ((<usize>kcMax * nPad) << 2);
  // A small untransposed B whose rows are whole panels is read in place: its rows are already
  // 8-float runs, and at this size it stays in L1, which is all packing would buy.
  const direct = !transB && (n & (NR - 1)) == 0 && k <= KC && <usize>k * n <= DIRECT_B_FLOATS;
  const bStep: usize = direct ? <usize>n << 2 : <usize>NR << 2;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const accumulate = p0 > 0;
    if (!direct) packB(b, ldb, transB, p0, kc, n, packedB);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const mc = min(MC, m - i0);
      packA(a, lda, transA, i0, mc, p0, kc, packedA);
      for (let j0 = 0; j0 < n; j0 += NR) {
        const nr = min(NR, n - j0);
        const bp = direct ? b + (<usize>j0 << 2) : packedB + ((<usize>j0 * kc) << 2);
        for (let ir = 0; ir < mc; ir += MR) {
          const mr = min(MR, mc - ir);
          const cTile = c + ((<usize>(i0 + ir) * n + j0) << 2);
          const ap = packedA + ((<usize>ir * kc) << 2);
          if (mr <= 2) kernel2x8(ap, bp, bStep, kc, cTile, n, accumulate, mr, nr, tmp);
          else kernel5x8(ap, bp, bStep, kc, cTile, n, accumulate, mr, nr, tmp);
        }
      }
    }
  }
}

/**
 * Unpacked gemm for tiny products, where packing would cost more than it saves. Without transB
 * it broadcasts each element of op(A) along a row of B (SIMD over columns); with transB it takes
 * dot products along rows of B (SIMD over k when op(A)'s rows are contiguous).
 */
export function gemmSmall(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool): void {
  // Vector shapes, made SIMD-friendly by relabelling (a vector's transpose has the same memory):
  if (k == 1) {
    // An outer product: both operands are vectors, so neither flag changes their layout.
    transA = false;
    transB = false;
  } else if (n == 1 && m > 1) {
    // A matrix-vector product C[m×1] = op(A)·b equals Cᵀ[1×m] = bᵀ·op(A)ᵀ, whose single row
    // runs along C: SIMD over m when A is stored [k×m], dot products along k when it is [m×k].
    const t = a;
    a = b;
    b = t;
    transB = !transA;
    transA = false;
    n = m;
    m = 1;
  }
  const lda = transA ? m : k;
  if (!transB) {
    const n4 = n & ~3;
    for (let i = 0; i < m; i++) {
      const crow = c + ((<usize>i * n) << 2);
      memory.fill(crow, 0, <usize>n << 2);
      for (let p = 0; p < k; p++) {
        const av = elemA(a, lda, transA, i, p);
        const as = f32x4.splat(av);
        const brow = b + ((<usize>p * n) << 2);
        let j = 0;
        for (; j < n4; j += 4) {
          const o = <usize>j << 2;
          v128.store(crow + o, madd(as, v128.load(brow + o), v128.load(crow + o)));
        }
        for (; j < n; j++) {
          const o = <usize>j << 2;
          store<f32>(crow + o, load<f32>(crow + o) + av * load<f32>(brow + o));
        }
      }
    }
  } else {
    const k4 = k & ~3;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const brow = b + ((<usize>j * k) << 2);
        let s: f32 = 0;
        let p = 0;
        if (!transA) {
          const arow = a + ((<usize>i * k) << 2);
          let acc = f32x4.splat(0);
          for (; p < k4; p += 4) acc = madd(v128.load(arow + (<usize>p << 2)), v128.load(brow + (<usize>p << 2)), acc);
          s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        }
        for (; p < k; p++) s += elemA(a, lda, transA, i, p) * load<f32>(brow + (<usize>p << 2));
        store<f32>(c + ((<usize>i * n + j) << 2), s);
      }
    }
  }
}
