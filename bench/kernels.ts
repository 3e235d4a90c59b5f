/**
 * Kernel throughput: the f32x4 multiply-add peak of this machine, measured in the same run, and
 * gemm GFLOP/s (through `matmul`, so including the op's allocation and the copies into WASM
 * memory) at 32…512 for every transpose variant and at the few-shot shapes. Each figure is also
 * given as a fraction of the peak.
 */
import * as mg from '../src/index.js';
import { wasmKernels } from '../src/kernels/backend.js';
import { machineLine, table, time } from './harness.js';

export function run(): string {
  const w = wasmKernels();
  if (w === null) return '## Kernels\n\nWebAssembly SIMD is not available on this runtime; nothing measured.';
  const iters = 2_000_000;
  let sink = 0;
  const [peakT] = time({ peak: () => (sink += w.peak(iters)) });
  const peak = (iters * 96) / peakT!.mean / 1e9;

  const variants: [string, boolean, boolean][] = [
    ['A·B', false, false],
    ['A·Bᵀ', false, true],
    ['Aᵀ·B', true, false],
    ['Aᵀ·Bᵀ', true, true],
  ];
  const gflops = (m: number, n: number, k: number, tA: boolean, tB: boolean, name: string): number => {
    const rng = new mg.Rng(m + n + k);
    const a = mg.randn(tA ? [k, m] : [m, k], { rng });
    const b = mg.randn(tB ? [n, k] : [k, n], { rng });
    const [t] = time({ [name]: () => (sink += mg.matmul(a, b, tA, tB).data[0]!) }, { minTime: 0.3, maxTime: 1.5 });
    return (2 * m * n * k) / t!.mean / 1e9;
  };
  // The kernel call alone: operands in JS arrays copied in and the result copied out, into an
  // output array allocated once (what `matmul` adds on top is allocating that output).
  const kernelGflops = (n: number, tA: boolean, tB: boolean, name: string): number => {
    const rng = new mg.Rng(n);
    const a = mg.randn([n, n], { rng }).data as Float32Array;
    const b = mg.randn([n, n], { rng }).data as Float32Array;
    const c = new Float32Array(n * n);
    const zero = new Int32Array(1);
    const [t] = time({ [name]: () => (w.gemm(a, zero, b, zero, c, 1, n, n, n, tA, tB), (sink += c[0]!)) }, { minTime: 0.3, maxTime: 1.5 });
    return (2 * n * n * n) / t!.mean / 1e9;
  };
  // The kernel alone: operands already in WASM memory, result left there.
  const residentGflops = (n: number, tA: boolean, tB: boolean, name: string): number => {
    const rng = new mg.Rng(n);
    const { run } = w.residentGemm(mg.randn([n, n], { rng }).data as Float32Array, mg.randn([n, n], { rng }).data as Float32Array, n, n, n, tA, tB);
    const [t] = time({ [name]: run }, { minTime: 0.3, maxTime: 1.5 });
    return (2 * n * n * n) / t!.mean / 1e9;
  };
  const sizes = [32, 64, 128, 256, 512];
  const squareRows = sizes.map((s) => [`${s}³`, ...variants.map(([v, tA, tB]) => gflops(s, s, s, tA, tB, `${s}³ ${v}`))]);
  const kernelRows = [128, 256, 512].map((s) => [`${s}³`, ...variants.map(([v, tA, tB]) => kernelGflops(s, tA, tB, `${s}³ ${v} kernel`))]);
  const residentRows = [128, 256, 512].map((s) => [`${s}³`, ...variants.map(([v, tA, tB]) => residentGflops(s, tA, tB, `${s}³ ${v} kernel alone`))]);
  const fewShot: [string, number, number, number][] = [
    ['[10×1]·[1×40]', 10, 40, 1],
    ['[10×40]·[40×40]', 10, 40, 40],
    ['[25×64]·[64×64]', 25, 64, 64],
  ];
  const fewRows = fewShot.map(([name, m, n, k]) => [name, ...variants.map(([v, tA, tB]) => gflops(m, n, k, tA, tB, `${name} ${v}`))]);
  // conv2d 3×3 stride 2 'same' on 10 images of 28×28×64 → 64 filters (14×14 output).
  const crng = new mg.Rng(9);
  const x = mg.randn([10, 28, 28, 64], { rng: crng });
  const f = mg.randn([3, 3, 64, 64], { rng: crng });
  const opts = { stride: 2, padding: 'same' as const };
  const dy = mg.randn([10, 14, 14, 64], { rng: crng });
  const convFlops = 2 * 10 * 14 * 14 * 64 * 3 * 3 * 64;
  const conv = time(
    {
      'conv2d forward': () => (sink += mg.conv2d(x, f, opts).data[0]!),
      'conv2d input gradient': () => (sink += mg.conv2dInputGrad(dy, f, x.shape, opts).data[0]!),
      'conv2d filter gradient': () => (sink += mg.conv2dFilterGrad(x, dy, f.shape, opts).data[0]!),
    },
    { minTime: 0.5, maxTime: 2 },
  );
  if (!Number.isFinite(sink)) throw new Error('non-finite benchmark result');
  const cell = (g: number) => `${g.toFixed(1)} (${((100 * g) / peak).toFixed(0)}%)`;
  const fmtRows = (rows: (string | number)[][]) => rows.map(([name, ...gs]) => [name as string, ...(gs as number[]).map(cell)]);
  const relaxed = w.variant === 'relaxed-simd';
  return [
    relaxed ? '## Kernels, relaxed-SIMD build (fused multiply-add; `node --experimental-wasm-relaxed-simd`)' : '## Kernels (WASM SIMD, float32, single thread)',
    '',
    machineLine(),
    `Kernel build: ${w.variant}.`,
    '',
    `Peak (12 independent f32x4 ${relaxed ? 'fused multiply-add' : 'multiply-add'} chains): **${peak.toFixed(1)} GFLOP/s**. Figures below: GFLOP/s (fraction of that peak), through \`matmul\`, so they include the output allocation and the copies into WASM memory.`,
    '',
    table(['size', ...variants.map(([v]) => v)], fmtRows(squareRows)),
    '',
    'The kernel call alone (copies into and out of WASM memory included, output array allocated once):',
    '',
    table(['size', ...variants.map(([v]) => v)], fmtRows(kernelRows)),
    '',
    'The kernel alone (operands already in WASM memory, result left there):',
    '',
    table(['size', ...variants.map(([v]) => v)], fmtRows(residentRows)),
    '',
    'The gap between the first two tables is allocating the result: V8 takes a zeroed buffer from glibc, which for arrays above its mmap threshold (128 kB at first) maps fresh pages each time, and every page faults on first write (≈ 0.2 ms for 256 kB). Running Node with `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824` keeps freed buffers in the heap and closes most of that gap (1.23 → 1.10 ms for a 256³ `matmul`, measured by hand on an AMD EPYC machine of this kind, 2026-11-22).',
    '',
    table(['few-shot shape', ...variants.map(([v]) => v)], fmtRows(fewRows)),
    '',
    '',
    'conv2d, 3×3, stride 2, \'same\', [10,28,28,64] → 64 filters (NHWC; im2col/col2im and gemm all in WASM memory):',
    '',
    table(
      ['op', 'time', 'GFLOP/s (fraction of peak)'],
      conv.map((t) => [t.name, `${(t.mean * 1e3).toFixed(2)} ms`, cell(convFlops / t.mean / 1e9)]),
    ),
    '',
    'Targets: ≥ 70% of peak at 256³ for every variant; ≥ 10 GFLOP/s at [10×40]·[40×40]; conv forward and both gradients ≥ 50% of peak.',
  ].join('\n');
}
