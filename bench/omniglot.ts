/**
 * Omniglot meta-iteration cost with the papers' presets, on synthetic 28×28 episodes of the
 * right shapes (the data itself does not change the cost):
 * - Reptile 5-way 1-shot: inner batch 10, 5 inner steps of Adam (β1 = 0), meta-batch 5;
 * - MAML 5-way 1-shot: meta-batch 32, one inner step α = 0.4, 15 query images per task
 *   (3 per class), second order and first order.
 * Conv4, strided variant, 64 filters, float32, single thread.
 */
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { fmtTime, machineLine, table, time } from './harness.js';

export function run(): string {
  const rng = new mg.Rng(0);
  const net = mg.conv4({ classes: 5 });
  const labels = (n: number) => Array.from({ length: n }, (_, i) => i % 5);
  const images = (n: number) => mg.rand([n, 28, 28, 1], { rng });
  const ce = (x: Tensor, y: number[]) => (p: Tensor[]) => mg.crossEntropy(net.forward(p, x), y);

  let params = net.init({ rng });
  const inner = new mg.Adam({ lr: 1e-3, beta1: 0 });
  const reptileStep = () => {
    const adapted: Tensor[][] = [];
    for (let t = 0; t < 5; t++) {
      let phi = params;
      for (let k = 0; k < 5; k++) {
        const [, g] = mg.valueAndGrad(ce(images(10), labels(10)))(phi);
        phi = inner.step(phi, g);
      }
      adapted.push(phi);
    }
    params = mg.noGrad(() => params.map((p, i) => mg.add(p, mg.scale(mg.sub(mg.scale(adapted.reduce((s, a) => mg.add(s, a[i]!), mg.zerosLike(p)), 1 / 5), p), 1))));
  };
  const outer = new mg.Adam({ lr: 1e-3 });
  const mamlStep = (firstOrder: boolean) => () => {
    let sum: Tensor[] | null = null;
    for (let t = 0; t < 32; t++) {
      const { grads } = mg.mamlGradient(params, [ce(images(5), labels(5))], ce(images(15), labels(15)), 0.4, { firstOrder });
      sum = sum === null ? grads : grads.map((g, i) => mg.add(g, sum![i]!));
    }
    params = outer.step(params, sum!.map((g) => mg.scale(g, 1 / 32)));
  };
  const [r, m2, m1] = time(
    { 'Reptile 5-way 1-shot preset': reptileStep, 'MAML 5-way 1-shot, second order': mamlStep(false), 'MAML 5-way 1-shot, first order': mamlStep(true) },
    { minTime: 3, maxTime: 20 },
  );
  return [
    '## Omniglot meta-iterations (Conv4, 28×28, float32)',
    '',
    machineLine(),
    '',
    table(
      ['preset', 'time per meta-iteration', 'target'],
      [
        [r!.name, fmtTime(r!.mean), '≤ 250 ms'],
        [m2!.name, fmtTime(m2!.mean), '≤ 1.0 s'],
        [m1!.name, fmtTime(m1!.mean), ''],
      ],
    ),
  ].join('\n');
}
