// Elementwise, reduction, batch-norm and Adam loops in f32x4, over float32 arrays in this
// module's memory (the same contracts as the TypeScript loops in src/kernels/). Pointers are
// byte addresses; every function handles any length (a scalar loop finishes what is not a
// multiple of 4).

// Binary operation codes (see src/kernels/wasm.ts).
const ADD: i32 = 0;
const SUB: i32 = 1;
const MUL: i32 = 2;
const DIV: i32 = 3;

// @ts-ignore: decorator
@inline
function vbin(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return f32x4.add(x, y);
  if (op == SUB) return f32x4.sub(x, y);
  if (op == MUL) return f32x4.mul(x, y);
  return f32x4.div(x, y);
}
// @ts-ignore: decorator
@inline
function sbin(op: i32, x: f32, y: f32): f32 {
  if (op == ADD) return x + y;
  if (op == SUB) return x - y;
  if (op == MUL) return x * y;
  return x / y;
}

// One row of n outputs: a and b each contiguous (step 1) or one repeated value (step 0).
// Inlined with a constant `op`, so the optimiser folds vbin/sbin to one instruction.
// @ts-ignore: decorator
@inline
function binRow(op: i32, a: usize, as: i32, b: usize, bs: i32, out: usize, n: i32): void {
  const n4 = n & ~3;
  let j = 0;
  if (as != 0 && bs != 0) {
    for (; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(out + o, vbin(op, v128.load(a + o), v128.load(b + o)));
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(out + o, sbin(op, load<f32>(a + o), load<f32>(b + o)));
    }
  } else if (as != 0) {
    const s = load<f32>(b);
    const sv = f32x4.splat(s);
    for (; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(out + o, vbin(op, v128.load(a + o), sv));
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(out + o, sbin(op, load<f32>(a + o), s));
    }
  } else if (bs != 0) {
    const s = load<f32>(a);
    const sv = f32x4.splat(s);
    for (; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(out + o, vbin(op, sv, v128.load(b + o)));
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(out + o, sbin(op, s, load<f32>(b + o)));
    }
  } else {
    const r = sbin(op, load<f32>(a), load<f32>(b));
    for (; j < n; j++) store<f32>(out + (<usize>j << 2), r);
  }
}

// @ts-ignore: decorator
@inline
function binRows(op: i32, a: usize, aRow: i32, as: i32, b: usize, bRow: i32, bs: i32, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    binRow(op, a + ((<usize>r * aRow) << 2), as, b + ((<usize>r * bRow) << 2), bs, out + ((<usize>r * cols) << 2), cols);
  }
}

/**
 * out[r, j] = a[r·aRow + j·as] ∘ b[r·bRow + j·bs] for r < rows, j < cols, with `as`, `bs` each
 * 0 or 1 (NumPy broadcasting collapsed to two axes). ∘ is add, sub, mul or div by `op`.
 */
export function binary2d(op: i32, a: usize, aRow: i32, as: i32, b: usize, bRow: i32, bs: i32, out: usize, rows: i32, cols: i32): void {
  if (op == ADD) binRows(ADD, a, aRow, as, b, bRow, bs, out, rows, cols);
  else if (op == SUB) binRows(SUB, a, aRow, as, b, bRow, bs, out, rows, cols);
  else if (op == MUL) binRows(MUL, a, aRow, as, b, bRow, bs, out, rows, cols);
  else binRows(DIV, a, aRow, as, b, bRow, bs, out, rows, cols);
}

// Unary operation codes.
const RELU: i32 = 0;
// 1 was `step` (x > 0 ? 1 : p), now folded into stepMul.
const NEG: i32 = 2;
const SQUARE: i32 = 3;
const SCALE: i32 = 4; // x · p
const SQRT: i32 = 5;

// @ts-ignore: decorator
@inline
function vun(op: i32, x: v128, p: v128): v128 {
  if (op == RELU) return f32x4.max(x, f32x4.splat(0));
  if (op == NEG) return f32x4.neg(x);
  if (op == SQUARE) return f32x4.mul(x, x);
  if (op == SCALE) return f32x4.mul(x, p);
  return f32x4.sqrt(x);
}
// @ts-ignore: decorator
@inline
function sun(op: i32, x: f32, p: f32): f32 {
  if (op == RELU) return x > 0 || x != x ? x : 0;
  if (op == NEG) return -x;
  if (op == SQUARE) return x * x;
  if (op == SCALE) return x * p;
  return sqrt<f32>(x);
}

// @ts-ignore: decorator
@inline
function unLoop(op: i32, x: usize, out: usize, n: i32, p: f32): void {
  const pv = f32x4.splat(p);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const o = <usize>j << 2;
    v128.store(out + o, vun(op, v128.load(x + o), pv));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(out + o, sun(op, load<f32>(x + o), p));
  }
}

/** out[i] = f(x[i]) for i < n: relu, neg, square, scale (x·p) or sqrt by `op`. */
export function unary(op: i32, x: usize, out: usize, n: i32, p: f32): void {
  if (op == RELU) unLoop(RELU, x, out, n, p);
  else if (op == NEG) unLoop(NEG, x, out, n, p);
  else if (op == SQUARE) unLoop(SQUARE, x, out, n, p);
  else if (op == SCALE) unLoop(SCALE, x, out, n, p);
  else unLoop(SQRT, x, out, n, p);
}

/**
 * out[i] = g[i] · (x[i] > 0 ? 1 : p) for i < n: the backward pass of relu (p = 0) and leaky relu
 * (p = slope) in one sweep; NaN in x gives NaN (the derivative at NaN is NaN).
 */
export function stepMul(g: usize, x: usize, out: usize, n: i32, p: f32): void {
  const pv = f32x4.splat(p);
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const o = <usize>j << 2;
    const xv = v128.load(x + o);
    const mask = v128.bitselect(xv, v128.bitselect(one, pv, f32x4.gt(xv, zero)), f32x4.ne(xv, xv));
    v128.store(out + o, f32x4.mul(v128.load(g + o), mask));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const xs = load<f32>(x + o);
    store<f32>(out + o, load<f32>(g + o) * (xs > 0 ? <f32>1 : xs != xs ? xs : p));
  }
}

/** out[j] += Σ_r x[r, j] over a [rows, cols] block (sum over the leading axis). */
export function sumLeading(x: usize, rows: i32, cols: i32, out: usize): void {
  const step = <usize>cols << 2;
  const c16 = cols & ~15;
  const c4 = cols & ~3;
  let j = 0;
  // Sixteen columns (one cache line) at a time down the rows, in four register accumulators:
  // every cache line of x is read once.
  for (; j < c16; j += 16) {
    const q = out + (<usize>j << 2);
    let a0 = v128.load(q), a1 = v128.load(q, 16), a2 = v128.load(q, 32), a3 = v128.load(q, 48);
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += step) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
    }
    v128.store(q, a0);
    v128.store(q, a1, 16);
    v128.store(q, a2, 32);
    v128.store(q, a3, 48);
  }
  for (; j < c4; j += 4) {
    const q = out + (<usize>j << 2);
    let acc = v128.load(q);
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += step) acc = f32x4.add(acc, v128.load(p));
    v128.store(q, acc);
  }
  for (; j < cols; j++) {
    const q = out + (<usize>j << 2);
    let s = load<f32>(q);
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += step) s += load<f32>(p);
    store<f32>(q, s);
  }
}

/** out[r] += Σ_j x[r, j] over a [rows, cols] block (sum over the trailing axis). */
export function sumTrailing(x: usize, rows: i32, cols: i32, out: usize): void {
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * cols) << 2);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j < c4; j += 4) acc = f32x4.add(acc, v128.load(row + (<usize>j << 2)));
    let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (; j < cols; j++) s += load<f32>(row + (<usize>j << 2));
    store<f32>(out + (<usize>r << 2), load<f32>(out + (<usize>r << 2)) + s);
  }
}

// Per-channel sums over the rows of a [rows, c] array into `acc` (c floats).
function channelSums(x: usize, rows: i32, c: i32, acc: usize): void {
  memory.fill(acc, 0, <usize>c << 2);
  sumLeading(x, rows, c, acc);
}

/**
 * Batch normalisation of x[rows, c] with batch statistics: writes invStd[c] = 1/√(var + eps),
 * xhat = (x − μ)·invStd and out = γ·xhat + β. `xhat` may equal `out`. `mean` is scratch for c floats.
 */
export function batchNormForward(x: usize, rows: i32, c: i32, gamma: usize, beta: usize, eps: f32, out: usize, xhat: usize, invStd: usize, mean: usize): void {
  const c4 = c & ~3;
  const inv: f32 = 1 / <f32>rows;
  channelSums(x, rows, c, mean);
  for (let j = 0; j < c; j++) store<f32>(mean + (<usize>j << 2), load<f32>(mean + (<usize>j << 2)) * inv);
  // Centred second moment (two passes: no cancellation).
  memory.fill(invStd, 0, <usize>c << 2);
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * c) << 2);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const d = f32x4.sub(v128.load(row + o), v128.load(mean + o));
      v128.store(invStd + o, f32x4.add(v128.load(invStd + o), f32x4.mul(d, d)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const d = load<f32>(row + o) - load<f32>(mean + o);
      store<f32>(invStd + o, load<f32>(invStd + o) + d * d);
    }
  }
  for (let j = 0; j < c; j++) {
    const o = <usize>j << 2;
    store<f32>(invStd + o, 1 / sqrt<f32>(load<f32>(invStd + o) * inv + eps));
  }
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * c) << 2;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const h = f32x4.mul(f32x4.sub(v128.load(x + ro + o), v128.load(mean + o)), v128.load(invStd + o));
      v128.store(xhat + ro + o, h);
      v128.store(out + ro + o, f32x4.add(f32x4.mul(v128.load(gamma + o), h), v128.load(beta + o)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const h = (load<f32>(x + ro + o) - load<f32>(mean + o)) * load<f32>(invStd + o);
      store<f32>(xhat + ro + o, h);
      store<f32>(out + ro + o, load<f32>(gamma + o) * h + load<f32>(beta + o));
    }
  }
}

/**
 * First-order batch-norm backward from the saved xhat and invStd: dβ = Σ g, dγ = Σ g·xhat and
 * dx = γ·invStd·(g − dβ/rows − xhat·dγ/rows), per channel over the rows.
 */
export function batchNormBackward(g: usize, xhat: usize, invStd: usize, gamma: usize, rows: i32, c: i32, dx: usize, dgamma: usize, dbeta: usize): void {
  const c4 = c & ~3;
  memory.fill(dgamma, 0, <usize>c << 2);
  memory.fill(dbeta, 0, <usize>c << 2);
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * c) << 2;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const gv = v128.load(g + ro + o);
      v128.store(dbeta + o, f32x4.add(v128.load(dbeta + o), gv));
      v128.store(dgamma + o, f32x4.add(v128.load(dgamma + o), f32x4.mul(gv, v128.load(xhat + ro + o))));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const gs = load<f32>(g + ro + o);
      store<f32>(dbeta + o, load<f32>(dbeta + o) + gs);
      store<f32>(dgamma + o, load<f32>(dgamma + o) + gs * load<f32>(xhat + ro + o));
    }
  }
  const inv: f32 = 1 / <f32>rows;
  const invv = f32x4.splat(inv);
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * c) << 2;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const k = f32x4.mul(v128.load(gamma + o), v128.load(invStd + o));
      const t = f32x4.sub(f32x4.sub(v128.load(g + ro + o), f32x4.mul(v128.load(dbeta + o), invv)), f32x4.mul(f32x4.mul(v128.load(xhat + ro + o), v128.load(dgamma + o)), invv));
      v128.store(dx + ro + o, f32x4.mul(k, t));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const k = load<f32>(gamma + o) * load<f32>(invStd + o);
      store<f32>(dx + ro + o, k * (load<f32>(g + ro + o) - load<f32>(dbeta + o) * inv - load<f32>(xhat + ro + o) * load<f32>(dgamma + o) * inv));
    }
  }
}

/**
 * One Adam step over n parameters, in place on the moments m and v:
 * m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g², out = p − stepSize·m/(√v + epsHat).
 */
export function adam(p: usize, g: usize, m: usize, v: usize, out: usize, n: i32, b1: f32, b2: f32, stepSize: f32, epsHat: f32): void {
  const b1v = f32x4.splat(b1), c1v = f32x4.splat(1 - b1);
  const b2v = f32x4.splat(b2), c2v = f32x4.splat(1 - b2);
  const sv = f32x4.splat(stepSize), ev = f32x4.splat(epsHat);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const o = <usize>j << 2;
    const gv = v128.load(g + o);
    const mv = f32x4.add(f32x4.mul(b1v, v128.load(m + o)), f32x4.mul(c1v, gv));
    const vv = f32x4.add(f32x4.mul(b2v, v128.load(v + o)), f32x4.mul(c2v, f32x4.mul(gv, gv)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    v128.store(out + o, f32x4.sub(v128.load(p + o), f32x4.div(f32x4.mul(sv, mv), f32x4.add(f32x4.sqrt(vv), ev))));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const gs = load<f32>(g + o);
    const ms = b1 * load<f32>(m + o) + (1 - b1) * gs;
    const vs = b2 * load<f32>(v + o) + (1 - b2) * gs * gs;
    store<f32>(m + o, ms);
    store<f32>(v + o, vs);
    store<f32>(out + o, load<f32>(p + o) - (stepSize * ms) / (sqrt<f32>(vs) + epsHat));
  }
}
