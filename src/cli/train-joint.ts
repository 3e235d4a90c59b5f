/** The joint-training baseline: one network trained on the expected loss over all tasks. */
import * as mg from '../index.js';
import type { Model, Tensor } from '../index.js';
import { ProgressBar } from './progress.js';

/** Adam (1e-3) on the mean query loss of meta-batches of `metaBatch` tasks, `iterations` steps. */
export function trainJoint(model: Model, params: Tensor[], tasks: mg.SineTasks, iterations: number, metaBatch: number): Tensor[] {
  const opt = new mg.Adam({ lr: 1e-3 });
  const bar = new ProgressBar(iterations, 'joint');
  for (let it = 1; it <= iterations; it++) {
    const b = tasks.sampleBatch(metaBatch);
    const [, g] = mg.valueAndGrad(mg.meanTaskMse(model, b.xQuery, b.yQuery))(params);
    params = opt.step(params, g);
    if (it % 200 === 0 || it === iterations) bar.update(it, '');
  }
  return params;
}
