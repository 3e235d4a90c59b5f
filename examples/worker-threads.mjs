// A meta-batch spread over worker threads, with the weights of a single-threaded run bit for bit:
//   node examples/worker-threads.mjs
import * as mg from 'metagrad';
import { TaskWorkers } from 'metagrad/node';
import { makeModel } from './sine-model.mjs';

const sizes = [1, 40, 40, 1];
const model = makeModel(sizes);
// Each worker imports the model's module and calls its export with the options.
const pool = await TaskWorkers.start({ workers: 1, model: { module: new URL('./sine-model.mjs', import.meta.url).href, export: 'makeModel', options: sizes } });
try {
  const sampler = new mg.SineTasks({ rng: new mg.Rng(3) });
  const batches = Array.from({ length: 20 }, () => sampler.sampleBatch(16).split()); // 16 tasks each, one at a time
  const make = () => new mg.MetaLearner(model, model.init({ rng: new mg.Rng(4) }), mg.maml({ innerLr: 0.01, innerSteps: 1, firstOrder: false, tail: 'separate' }), new mg.Adam());
  const one = make();
  const two = make();
  let t = performance.now();
  for (const tasks of batches) one.step(tasks);
  const tOne = performance.now() - t;
  t = performance.now();
  for (const tasks of batches) await two.stepAsync(tasks, pool);
  const tTwo = performance.now() - t;
  const same = one.params.every((p, i) => p.data.every((v, j) => Object.is(v, two.params[i].data[j])));
  console.log(`20 meta-iterations: ${tOne.toFixed(0)} ms on one thread, ${tTwo.toFixed(0)} ms with a worker; weights ${same ? 'bit-identical' : 'DIFFERENT'}`);
} finally {
  await pool.close();
}
