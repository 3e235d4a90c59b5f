#!/usr/bin/env node
/**
 * Makes the demo's sine weights (demo/weights/sine.safetensors, about 21 kB): the MAML paper's
 * 1-40-40-1 MLP meta-trained with MAML and with Reptile, and trained jointly on all tasks, each
 * with the settings of `npm run sine` on the MAML paper's task distribution (amplitude 0.1–5,
 * phase 0–π), seed 0. Reruns give the same file. Needs `npm run build` first.
 *
 *   node scripts/demo-weights.mjs
 */
import * as mg from '../build/src/index.js';
import { saveSafetensors } from '../build/src/node.js';

const out = new URL('../demo/weights/sine.safetensors', import.meta.url).pathname;
const model = mg.mlp([1, 40, 40, 1]);
const rng = new mg.Rng(0);
const tasks = new mg.SineTasks({ setup: 'maml', rng: rng.fork() });
const init = model.init({ rng: rng.fork() });
const metaBatch = 25;

const maml = new mg.MAML(model, init, { innerLr: 0.01, innerSteps: 1 });
for (let i = 0; i < 8000; i++) maml.step(tasks.sampleBatch(metaBatch));
const reptile = new mg.Reptile(model, init, { iterations: 6000, innerLr: 0.02, innerSteps: 5, metaStepSize: 1, metaStepSizeFinal: 0 });
for (let i = 0; i < 6000; i++) reptile.step(tasks.sampleBatch(metaBatch));
let joint = init;
const adam = new mg.Adam({ lr: 1e-3 });
for (let i = 0; i < 8000; i++) {
  const b = tasks.sampleBatch(metaBatch);
  const [, g] = mg.valueAndGrad(mg.meanTaskMse(model, b.xQuery, b.yQuery))(joint);
  joint = adam.step(joint, g);
}

const nets = { maml: { params: maml.params, lr: 0.01 }, reptile: { params: reptile.params, lr: 0.02 }, joint: { params: joint, lr: 0.01 } };
const evalBatch = new mg.SineTasks({ setup: 'maml', rng: new mg.Rng(1) }).sampleBatch(200);
const tensors = {};
for (const [name, { params, lr }] of Object.entries(nets)) {
  params.forEach((p, i) => (tensors[`${name}.${i}`] = p));
  const mse = mg.evaluate(model, params, [evalBatch], [0, 10], lr);
  console.log(`${name}: MSE on 200 new tasks ${mse.get(0).mean.toFixed(3)} before adapting, ${mse.get(10).mean.toFixed(3)} after 10 steps of ${lr}`);
}
const about = { model: [1, 40, 40, 1], tasks: 'MAML sine: amplitude U[0.1, 5], phase U[0, π], x U[-5, 5], K = 10', lr: Object.fromEntries(Object.entries(nets).map(([k, v]) => [k, v.lr])) };
saveSafetensors(out, tensors, { demo: JSON.stringify(about) });
console.log(`wrote ${out}`);
