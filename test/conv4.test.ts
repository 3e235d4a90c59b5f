/** Conv4 shapes, and second-order MAML through a (small) conv net against finite differences. */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { makeTensor } from './helpers/arbitraries.js';

describe('conv4', () => {
  test.each(['strided', 'maxpool'] as const)('%s variant: logits [n, classes] from [n,28,28,1]', (variant) => {
    const net = mg.conv4({ classes: 5, variant, filters: 8 });
    const ps = net.init({ rng: new mg.Rng(0) });
    expect(ps.length).toBe(18);
    expect(net.forward(ps, mg.zeros([3, 28, 28, 1])).shape).toEqual([3, 5]);
    expect(() => net.forward(ps, mg.zeros([3, 28, 28]))).toThrow(/conv4: input must be \[n, 28, 28, 1\], got \[3,28,28\]/);
    expect(() => net.forward(ps, [[0]] as never)).toThrow(/conv4: the input must be a Tensor, got an array/);
    expect(() => mg.mlp([1, 2]).forward(mg.mlp([1, 2]).init(), [[0]] as never)).toThrow(/mlp: the input must be a Tensor, got an array/);
  });

  test('bad options are named when the model is built', () => {
    expect(() => mg.conv4({ classes: 0 })).toThrow(/conv4: classes must be a positive integer, got 0/);
    expect(() => mg.conv4({ classes: 5, filters: 2.5 })).toThrow(/conv4: filters must be a positive integer, got 2\.5/);
    expect(() => mg.conv4({ classes: 5, side: -28 })).toThrow(/conv4: side must be a positive integer, got -28/);
    expect(() => mg.conv4({ classes: 5, channels: 0 })).toThrow(/conv4: channels must be a positive integer, got 0/);
    expect(() => mg.conv4({ classes: 5, variant: 'maxpool', side: 8 })).toThrow(/conv4: input side 8 is too small for four halvings/);
  });

  test('the MAML meta-gradient through conv, batch norm, max-pool and ReLU equals finite differences (float64)', () => {
    const net = mg.conv4({ classes: 3, variant: 'maxpool', filters: 2, side: 16 });
    const ps = net.init({ rng: new mg.Rng(1), dtype: 'float64' });
    const xs = makeTensor([3, 16, 16, 1], 5), xq = makeTensor([3, 16, 16, 1], 6);
    const inner = (p: Tensor[]) => mg.crossEntropy(net.forward(p, xs), [0, 1, 2]);
    const outer = (p: Tensor[]) => mg.crossEntropy(net.forward(p, xq), [2, 0, 1]);
    const alpha = 0.3;
    const g = mg.mamlGradient(ps, [inner, inner], outer, alpha).grads;
    const metaLoss = (p: Tensor[]) => outer(mg.sgdInnerLoop(p, [inner, inner], alpha, 'detached').params).item();
    const h = 1e-5;
    let num2 = 0, err2 = 0;
    // every filter weight of block 1 and 4, the BN scales, and the head
    for (const i of [0, 2, 12, 14, 16]) {
      for (let j = 0; j < ps[i]!.size; j++) {
        const at = (d: number) => metaLoss(ps.map((q, n) => (n === i ? new mg.Tensor(Float64Array.from(q.data, (v, m) => (m === j ? v + d : v)), q.shape) : q)));
        const fd = (at(h) - at(-h)) / (2 * h);
        num2 += fd * fd;
        err2 += (fd - g[i]!.data[j]!) ** 2;
      }
    }
    expect(Math.sqrt(err2 / num2)).toBeLessThan(1e-6);
    // and it differs from first order, so the second-order terms are really there
    const fo = mg.mamlGradient(ps, [inner, inner], outer, alpha, { firstOrder: true }).grads;
    let diff = 0;
    g.forEach((t, i) => t.data.forEach((v: number, j: number) => (diff += (v - fo[i]!.data[j]!) ** 2)));
    expect(Math.sqrt(diff / num2)).toBeGreaterThan(1e-3);
  });
});
