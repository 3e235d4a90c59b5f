/**
 * Checks run inside a browser (main thread and a module worker) by `npm run test:browser`
 * (scripts/browser-check.mjs). Each compares the float32 result of the kernels the browser
 * actually loaded with the float64 TypeScript path, or with a closed form, so a kernel that
 * fails to load, loads the wrong build or computes wrongly in that runtime fails a check.
 */

/** Largest |a − b| relative to the largest |b| (Infinity for different lengths or an all-zero b). */
function maxRelDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale > 0 ? diff / scale : Infinity;
}

function check(name, ok, detail) {
  return { name, ok: Boolean(ok), detail };
}

/** The float32 and float64 copies of one random draw. */
function pair(mg, shape, rng) {
  const x64 = mg.randn(shape, { rng, dtype: 'float64' });
  return [mg.astype(x64, 'float32'), x64];
}

/** @param {typeof import('../../build/src/index.js')} mg */
export function runChecks(mg, where) {
  const out = [];
  const info = mg.backendInfo();
  out.push(check(`${where}: WASM kernels loaded`, info.backend === 'wasm', JSON.stringify(info)));
  const rng = new mg.Rng(7);

  // gemm on awkward shapes, every transpose flag, against float64.
  for (const [m, k, n] of [[10, 40, 40], [33, 65, 17], [1, 7, 63], [65, 130, 72]]) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const [a32, a64] = pair(mg, tA ? [k, m] : [m, k], rng);
      const [b32, b64] = pair(mg, tB ? [n, k] : [k, n], rng);
      const d = maxRelDiff(mg.matmul(a32, b32, tA, tB).data, mg.matmul(a64, b64, tA, tB).data);
      out.push(check(`${where}: matmul [${m}×${k}]·[${k}×${n}] transA=${tA} transB=${tB}`, d < 1e-4, `max rel diff ${d.toExponential(2)}`));
    }
  }

  // conv2d forward and both gradients (stride 2, 'same'), against float64.
  const [x32, x64] = pair(mg, [2, 9, 7, 5], rng);
  const [w32, w64] = pair(mg, [3, 3, 5, 16], rng);
  const opts = { stride: 2, padding: 'same' };
  const y32 = mg.conv2d(x32, w32, opts);
  const y64 = mg.conv2d(x64, w64, opts);
  const dy = maxRelDiff(y32.data, y64.data);
  out.push(check(`${where}: conv2d forward`, dy < 1e-4, `max rel diff ${dy.toExponential(2)}`));
  const [g32, g64] = pair(mg, y64.shape, rng);
  const dx = maxRelDiff(mg.conv2dInputGrad(g32, w32, x32.shape, opts).data, mg.conv2dInputGrad(g64, w64, x64.shape, opts).data);
  out.push(check(`${where}: conv2d input gradient`, dx < 1e-4, `max rel diff ${dx.toExponential(2)}`));
  const dw = maxRelDiff(mg.conv2dFilterGrad(x32, g32, w32.shape, opts).data, mg.conv2dFilterGrad(x64, g64, w64.shape, opts).data);
  out.push(check(`${where}: conv2d filter gradient`, dw < 1e-4, `max rel diff ${dw.toExponential(2)}`));

  // Second order: Hessian-vector product of Σ x³ is 6·x·v.
  const x = mg.randn([4, 9], { rng });
  const v = mg.randn([4, 9], { rng });
  const [hv] = mg.hvp(([t]) => mg.sum(mg.mul(mg.mul(t, t), t)), [x], [v]);
  const expected = x.data.map((xi, i) => 6 * xi * v.data[i]);
  const dh = maxRelDiff(hv.data, expected);
  out.push(check(`${where}: hvp of Σx³ equals 6·x·v`, dh < 1e-5, `max rel diff ${dh.toExponential(2)}`));

  // Exact MAML meta-gradient (two inner steps) through a small conv net: float32 against float64.
  const metaGrad = (dtype) => {
    const r = new mg.Rng(11);
    const w = mg.randn([3, 3, 1, 8], { rng: r, dtype, std: 0.3 });
    const h = mg.randn([8, 1], { rng: r, dtype, std: 0.3 });
    const xs = mg.randn([4, 6, 6, 1], { rng: r, dtype });
    const ys = mg.randn([4, 1], { rng: r, dtype });
    const loss = ([wc, hc]) => {
      const f = mg.relu(mg.conv2d(xs, wc, { stride: 2, padding: 'same' }));
      const pooled = mg.mean(f, [1, 2]);
      return mg.mse(mg.matmul(pooled, hc), ys);
    };
    return mg.mamlGradient([w, h], [loss, loss], loss, 0.1).grads.flatMap((g) => Array.from(g.data));
  };
  const dm = maxRelDiff(metaGrad('float32'), metaGrad('float64'));
  out.push(check(`${where}: second-order MAML meta-gradient through conv, float32 against float64`, dm < 1e-3, `max rel diff ${dm.toExponential(2)}`));
  return out;
}
