// The demo's computation, off the page's thread: metagrad on its WebAssembly kernels.
//   → { type: 'sine', id, points: [[x, y], …], steps }   ← { type: 'sine', id, nets: { name: { lr, curves, losses } } }
//   → { type: 'classify', id, support: [5 × 784], query: 784 }   ← { type: 'classify', id, probabilities }
// and first ← { type: 'ready', variant, omniglot } or { type: 'failed', error }.
import * as mg from '../build/src/index.js';

const GRID = 200;
const grid = mg.linspace(-5, 5, GRID);
const sineModel = mg.mlp([1, 40, 40, 1]);

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The tensors `prefix.0`, `prefix.1`, … of a decoded safetensors file, in order. */
function paramsOf(tensors, prefix) {
  const out = [];
  for (let i = 0; `${prefix}.${i}` in tensors; i++) out.push(tensors[`${prefix}.${i}`]);
  if (out.length === 0) throw new Error(`no tensors '${prefix}.0', … in the weights`);
  return out;
}

const state = (async () => {
  await mg.ready();
  const [sineBytes, omniBytes] = await Promise.all([fetchBytes('weights/sine.safetensors'), fetchBytes('../results/omniglot/maml-5way-1shot.safetensors')]);
  const sine = mg.decodeSafetensors(sineBytes, 'demo/weights/sine.safetensors');
  const about = JSON.parse(sine.metadata.demo);
  const nets = Object.fromEntries(['maml', 'reptile', 'joint'].map((name) => [name, { params: paramsOf(sine.tensors, name), lr: about.lr[name] }]));
  const omni = mg.decodeSafetensors(omniBytes, 'maml-5way-1shot.safetensors');
  const { config, iteration } = JSON.parse(omni.metadata.metagrad);
  return { nets, omniglot: { model: mg.fewShotModel(config), params: paramsOf(omni.tensors, 'params'), config, iteration } };
})();

/** Each network's curve on the grid and its loss on the points after 0 … steps SGD steps on them. */
function adaptSine({ nets }, points, steps) {
  const out = {};
  const xg = mg.reshape(grid, [GRID, 1]);
  const n = points.length;
  const task = n === 0 ? null : mg.supervisedTask({ xSupport: mg.tensor(points.map(([x]) => [x])), ySupport: mg.tensor(points.map(([, y]) => [y])), xQuery: xg, yQuery: mg.zeros([GRID, 1]) });
  for (const [name, { params, lr }] of Object.entries(nets)) {
    const curves = [];
    const losses = [];
    const record = (phi) =>
      mg.noGrad(() => {
        curves.push(Array.from(sineModel.forward(phi, xg).data));
        if (task !== null) losses.push(task.supportLoss(sineModel, phi, 0).item());
      });
    if (task === null) record(params);
    else mg.adapt(sineModel, params, task, { steps, lr }, (_, phi) => record(phi));
    out[name] = { lr, curves, losses };
  }
  return out;
}

/** The 5-way 1-shot prediction for `query` after adapting to one drawing per class, as in evaluation. */
function classify({ omniglot }, support, query) {
  const { model, params, config } = omniglot;
  const side = 28;
  const xs = new mg.Tensor(Float32Array.from(support.flat()), [support.length, side, side, 1]);
  const xq = new mg.Tensor(Float32Array.from(query), [1, side, side, 1]);
  const labels = support.map((_, i) => i);
  const task = mg.supervisedTask({ xSupport: xs, ySupport: labels, xQuery: xq, yQuery: [0] }, { loss: 'cross-entropy' });
  const adapted = mg.adapt(model, params, task, { steps: config.evalSteps, lr: config.innerLr }).params;
  // The query beside the support set, as the non-transductive evaluation does: batch norm then
  // sees six drawings, not one.
  return mg.noGrad(() => {
    const logits = model.forward(adapted, mg.concat([xs, xq], 0));
    const last = mg.slice(logits, 0, support.length, support.length + 1);
    return Array.from(mg.softmax(last).data);
  });
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    const s = await state;
    if (m.type === 'sine') self.postMessage({ type: 'sine', id: m.id, nets: mg.tidy(() => adaptSine(s, m.points, m.steps)) });
    else if (m.type === 'classify') self.postMessage({ type: 'classify', id: m.id, probabilities: mg.tidy(() => classify(s, m.support, m.query)) });
  } catch (err) {
    self.postMessage({ type: 'failed', id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
};

state.then(
  (s) => self.postMessage({ type: 'ready', variant: mg.backendInfo().variant, omniglot: { config: s.omniglot.config, iteration: s.omniglot.iteration } }),
  (err) => self.postMessage({ type: 'failed', error: err instanceof Error ? err.message : String(err) }),
);
