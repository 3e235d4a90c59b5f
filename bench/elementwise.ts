/**
 * The elementwise hot path: each loop that exists in TypeScript and in WASM SIMD, timed both
 * ways in the same run (output allocation included, as the ops do it), at the sizes of the
 * Omniglot Conv4 activations. Shows where the dispatch threshold (WASM_MIN_ELEMENTS) sits.
 */
import { batchNormBackward, batchNormForward } from '../src/kernels/batchnorm.js';
import { WASM_MIN_ELEMENTS } from '../src/kernels/dispatch.js';
import * as K from '../src/kernels/elementwise.js';
import { sumAxesInto } from '../src/kernels/reduce.js';
import { loadWasmSync } from '../src/kernels/wasm.js';
import { fmtTime, machineLine, table, time } from './harness.js';

export function run(): string {
  const w = loadWasmSync(false);
  if (w === null) return '## Elementwise kernels\n\nWebAssembly SIMD is not available here.';
  const C = 64;
  const rows: string[][] = [];
  let sink = 0;
  const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 2);
  for (const n of [256, 1024, 8192, 10 * 14 * 14 * C]) {
    const r = n / C;
    const a = rand(n), b = rand(n), bias = rand(C);
    const gamma = rand(C), beta = rand(C), xhat = rand(n), inv = rand(C).map(Math.abs);
    const cases: [string, () => void, () => void][] = [
      ['mul, same shape', () => { const o = new Float32Array(n); K.mulRun(a, 0, 1, b, 0, 1, o, 0, n); sink += o[0]!; }, () => { const o = new Float32Array(n); w.binary('mul', a, [1], b, [1], [n], o); sink += o[0]!; }],
      [`add [${r},${C}] + [${C}]`, () => { const o = new Float32Array(n); K.binaryBroadcast(K.addRun, a, [C, 1], bias, [0, 1], [r, C], o); sink += o[0]!; }, () => { const o = new Float32Array(n); w.binary('add', a, [C, 1], bias, [0, 1], [r, C], o); sink += o[0]!; }],
      ['relu', () => { const o = new Float32Array(n); K.reluInto(a, o); sink += o[0]!; }, () => { const o = new Float32Array(n); w.unary('relu', a, 0, o); sink += o[0]!; }],
      [`sum [${r},${C}] over rows`, () => { const o = new Float32Array(C); sumAxesInto(a, [r, C], [0], o); sink += o[0]!; }, () => { const o = new Float32Array(C); w.sumAxes(a, [r, C], [0], o); sink += o[0]!; }],
      ['batch norm forward', () => { const o = new Float32Array(n), h = new Float32Array(n), s = new Float32Array(C); batchNormForward(a, gamma, beta, 1e-5, C, o, h, s); sink += o[0]!; }, () => { const o = new Float32Array(n), h = new Float32Array(n), s = new Float32Array(C); w.batchNormForward(a, gamma, beta, 1e-5, C, o, h, s); sink += o[0]!; }],
      ['batch norm backward', () => { const dx = new Float32Array(n), dg = new Float32Array(C), db = new Float32Array(C); batchNormBackward(b, xhat, inv, gamma, C, dx, dg, db); sink += dx[0]!; }, () => { const dx = new Float32Array(n), dg = new Float32Array(C), db = new Float32Array(C); w.batchNormBackward(b, xhat, inv, gamma, C, dx, dg, db); sink += dx[0]!; }],
    ];
    for (const [name, js, wasm] of cases) {
      const [tj, tw] = time({ [`${name} (${n}) js`]: js, [`${name} (${n}) wasm`]: wasm }, { minTime: 0.2, maxTime: 1 });
      rows.push([name, String(n), fmtTime(tj!.mean), fmtTime(tw!.mean), `${(tj!.mean / tw!.mean).toFixed(1)}×`]);
    }
  }
  if (sink === 42) console.error('');
  return [
    '## Elementwise kernels: TypeScript loop against WASM SIMD (float32, output allocation included)',
    '',
    machineLine(),
    '',
    `Arrays of at least ${WASM_MIN_ELEMENTS} elements are dispatched to WASM; ${10 * 14 * 14 * C} is the first Conv4 layer's activation on an inner batch of 10.`,
    '',
    table(['loop', 'elements', 'TypeScript', 'WASM SIMD', 'speed-up'], rows),
  ].join('\n');
}
