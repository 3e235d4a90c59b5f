/** The graph of a step is released once its gradients are taken; training loops run in constant memory. */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { collect, heapAfterGc } from './helpers/gc.js';

const rng = new mg.Rng(7);
const x = mg.randn([10, 1], { rng });
const y = mg.randn([10, 1], { rng });
const init = () => [mg.randn([1, 40], { rng, std: 0.5 }), mg.zeros([40]), mg.randn([40, 1], { rng, std: 0.2 }), mg.zeros([1])];
const loss = ([w1, b1, w2, b2]: Tensor[]) => mg.mse(mg.add(mg.matmul(mg.relu(mg.add(mg.matmul(x, w1!), b1!)), w2!), b2!), y);

describe('graph lifetime', () => {
  /** A loss whose hidden activations are referenced only by its graph (and a WeakRef). */
  function build(ps: Tensor[]): { out: Tensor; ref: WeakRef<Tensor> } {
    const hidden = mg.relu(mg.add(mg.matmul(x, ps[0]!), ps[1]!));
    return { out: mg.mse(mg.matmul(hidden, ps[2]!), y), ref: new WeakRef(hidden) };
  }

  test('after grad() the intermediate tensors are unreachable from the output', async () => {
    const ps = init().map((p) => p.requireGrad());
    const { out, ref } = build(ps);
    mg.grad(out, ps.slice(0, 3));
    // `out` is still held, but its graph dropped the reference to `hidden`.
    await collect();
    expect(ref.deref()).toBeUndefined();
    expect(out.item()).toBeGreaterThan(0);
  });

  test('with retainGraph the intermediates stay alive (the check above can fail)', async () => {
    const ps = init().map((p) => p.requireGrad());
    const { out, ref } = build(ps);
    mg.grad(out, ps.slice(0, 3), { retainGraph: true });
    await collect();
    expect(ref.deref()).toBeDefined();
    expect(out.node!.inputs.length).toBeGreaterThan(0);
  });
});

describe('task-tiled parameters', () => {
  // A second-order MAML graph on 3 stacked tasks, holding only the loss: whether the [3, …]
  // copies of φ live on is the difference between reading them through φ and keeping them.
  async function tiledCopyKept(tile: (p: Tensor) => Tensor): Promise<boolean> {
    const xs = mg.randn([3, 10, 1], { rng }), ys = mg.randn([3, 10, 1], { rng });
    const ps = init().map((p) => p.requireGrad());
    const refs: WeakRef<Tensor>[] = [];
    const tiled = ps.map((p) => {
      const t = tile(p);
      refs.push(new WeakRef(t));
      return t;
    });
    const f = (w: Tensor[]) => mg.mse(mg.add(mg.matmul(mg.relu(mg.add(mg.matmul(xs, w[0]!), mg.unsqueeze(w[1]!, 1))), w[2]!), mg.unsqueeze(w[3]!, 1)), ys);
    const g = mg.grad(f(tiled), tiled, { createGraph: true });
    const out = f(tiled.map((t, i) => mg.sub(t, mg.scale(g[i]!, 0.01))));
    tiled.length = 0;
    await collect();
    const kept = refs[2]!.deref() !== undefined; // w₂ [3, 40, 1], which the hidden layer's gradient reads
    expect(Number.isFinite(out.item())).toBe(true);
    return kept;
  }

  test('tiled by broadcastTo (tileParams), the copies are read through φ and not kept', async () => {
    expect(await tiledCopyKept((p) => mg.broadcastTo(mg.unsqueeze(p, 0), [3, ...p.shape]))).toBe(false);
  });

  test('tiled as leaves, the products keep the copies (the check above can fail)', async () => {
    const copy = (p: Tensor) => new mg.Tensor(mg.broadcastTo(mg.unsqueeze(p, 0), [3, ...p.shape]).data, [3, ...p.shape], true);
    expect(await tiledCopyKept(copy)).toBe(true);
  });
});

describe('constant memory', () => {
  async function growth(step: (ps: Tensor[]) => Tensor[], steps: number): Promise<number> {
    let ps = init();
    for (let i = 0; i < 200; i++) ps = step(ps);
    const before = await heapAfterGc();
    for (let i = 0; i < steps; i++) ps = step(ps);
    const after = await heapAfterGc();
    expect(ps[0]!.data.every(Number.isFinite)).toBe(true);
    return after - before;
  }

  test('SGD with first-order gradients: 3000 steps do not grow the heap', async () => {
    const sgd = (ps: Tensor[]) => {
      const [, gs] = mg.valueAndGrad(loss)(ps);
      return ps.map((p, i) => mg.sub(p, mg.scale(gs[i]!, 0.01)));
    };
    expect(await growth(sgd, 3000)).toBeLessThan(2_000_000);
  });

  test('a second-order step (gradient through one inner SGD step): 1000 steps do not grow the heap', async () => {
    const maml = (ps: Tensor[]) => {
      const [, gs] = mg.valueAndGrad((qs) => {
        const [, inner] = mg.valueAndGrad(loss, { createGraph: true })(qs);
        return loss(qs.map((q, i) => mg.sub(q, mg.scale(inner[i]!, 0.01))));
      })(ps);
      return ps.map((p, i) => mg.sub(p, mg.scale(gs[i]!, 0.001)));
    };
    expect(await growth(maml, 1000)).toBeLessThan(2_000_000);
  });
});
