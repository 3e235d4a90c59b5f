/**
 * The NaN rule: an op gives NaN wherever its result depends on a NaN input, on every backend
 * (WASM SIMD or TypeScript), dtype and size (below and above the size where WASM takes over),
 * as IEEE arithmetic and PyTorch do; derivative masks at NaN are NaN, so the NaN reaches the
 * gradient and the optimisers refuse the step.
 */
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { WASM_MIN_ELEMENTS } from '../src/kernels/dispatch.js';

afterEach(() => mg.setBackend('auto'));

const unary: [string, (x: mg.Tensor) => mg.Tensor][] = [
  ['relu', mg.relu], ['leakyRelu', (x) => mg.leakyRelu(x, 0.1)], ['neg', mg.neg], ['scale', (x) => mg.scale(x, 3)], ['square', mg.square],
  ['sqrt', (x) => mg.sqrt(mg.abs(x))], ['exp', mg.exp], ['log', (x) => mg.log(mg.abs(x))], ['abs', mg.abs], ['sin', mg.sin], ['cos', mg.cos],
  ['tanh', mg.tanh], ['sigmoid', mg.sigmoid], ['softplus', mg.softplus], ['pow', (x) => mg.pow(x, 3)],
];

/** Values in [−2, 2] with NaN at every `every`-th element. */
function withNaN(n: number, every: number, dtype: mg.DType): mg.Tensor {
  const rng = new mg.Rng(n);
  const d = Array.from({ length: n }, (_, i) => (i % every === 3 ? NaN : rng.uniformIn(-2, 2)));
  return mg.tensor(d, { dtype });
}

describe.each(['auto', 'js'] as const)('backend %s', (backend) => {
  test.each([5, WASM_MIN_ELEMENTS + 37])('elementwise ops and relu\'s derivative are NaN exactly where the input is, at %i elements', (n) => {
    mg.setBackend(backend);
    for (const dtype of ['float32', 'float64'] as const) {
      const x = withNaN(n, 7, dtype);
      const nan = Array.from(x.data, (v) => Number.isNaN(v));
      for (const [name, f] of unary) {
        const y = f(x);
        expect(Array.from(y.data, (v) => Number.isNaN(v)), `${name} ${dtype} ${n}`).toEqual(nan);
      }
      const w = new mg.Tensor(x.data, x.shape, true);
      for (const f of [mg.relu, (t: mg.Tensor) => mg.leakyRelu(t, 0.1)]) {
        const [g] = mg.grad(mg.sum(f(w)), [w]);
        expect(Array.from(g!.data, (v) => Number.isNaN(v)), `relu' ${dtype} ${n}`).toEqual(nan);
      }
    }
  });

  test('max-pooling, max and min give NaN for every window or fibre holding one, wherever it is', () => {
    mg.setBackend(backend);
    for (const at of [0, 1, 2, 3]) {
      const v = [1, 2, 3, 4];
      v[at] = NaN;
      const pooled = mg.maxPool2d(mg.tensor(v, { shape: [1, 2, 2, 1] }), 2, { stride: 2 });
      expect(Number.isNaN(pooled.item()), `NaN at ${at}`).toBe(true);
      expect(Number.isNaN(mg.max(mg.tensor(v)).item())).toBe(true);
      expect(Number.isNaN(mg.min(mg.tensor(v)).item())).toBe(true);
    }
    expect(mg.maxPool2d(mg.tensor([1, 5, 3, 4], { shape: [1, 2, 2, 1] }), 2, { stride: 2 }).item()).toBe(5);
  });

  test('an MLP with a NaN input row gives NaN in that row and finite rows elsewhere, at batch 5 and 50', () => {
    mg.setBackend(backend);
    const model = mg.mlp([3, 64, 64, 2]);
    const params = model.init({ rng: new mg.Rng(1) });
    for (const batch of [5, 50]) {
      const x = mg.randn([batch, 3], { rng: new mg.Rng(batch) });
      x.data[3 * 2 + 1] = NaN; // row 2
      const out = model.forward(params, x);
      for (let r = 0; r < batch; r++) {
        const row = Array.from(out.data.subarray(2 * r, 2 * r + 2));
        expect(row.every(Number.isNaN), `batch ${batch} row ${r}`).toBe(r === 2);
        if (r !== 2) expect(row.every(Number.isFinite)).toBe(true);
      }
    }
  });
});
