// Peak microbenchmark: 12 independent f32x4 multiply-add chains, the same instruction mix as the
// gemm micro-kernel with enough independent accumulators to hide the add latency. Returns a
// value that depends on every chain so the work cannot be optimised away.
import { madd } from './simd';

/** Runs `iters` iterations; each does 12 × 4 multiply-adds (96 flops). */
export function peakMadd(iters: i32, x: f32): f32 {
  const a = f32x4.splat(x);
  const b = f32x4.splat(0.999);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(1), c2 = f32x4.splat(2), c3 = f32x4.splat(3);
  let c4 = f32x4.splat(4), c5 = f32x4.splat(5), c6 = f32x4.splat(6), c7 = f32x4.splat(7);
  let c8 = f32x4.splat(8), c9 = f32x4.splat(9), c10 = f32x4.splat(10), c11 = f32x4.splat(11);
  for (let i = 0; i < iters; i++) {
    c0 = madd(a, b, c0);
    c1 = madd(a, b, c1);
    c2 = madd(a, b, c2);
    c3 = madd(a, b, c3);
    c4 = madd(a, b, c4);
    c5 = madd(a, b, c5);
    c6 = madd(a, b, c6);
    c7 = madd(a, b, c7);
    c8 = madd(a, b, c8);
    c9 = madd(a, b, c9);
    c10 = madd(a, b, c10);
    c11 = madd(a, b, c11);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
}
