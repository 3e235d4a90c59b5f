/**
 * Ensembles of models held as particles: M sets of parameters stacked along a leading axis
 * (`[M, …shape]` for each parameter), the layout SVGD and the ensembles of BMAML and EMAML use.
 * A Task is seen by all M particles at once through {@link particleTask}.
 */
import type { Model } from '../nn/model.js';
import { forwardStacked } from '../nn/model.js';
import { add } from '../ops/binary.js';
import { broadcastTo, index, stack, unsqueeze } from '../ops/layout.js';
import { scale } from '../ops/unary.js';
import { noGrad } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { checkInteger } from '../checks.js';
import { SupervisedTask, type Task } from '../meta/task.js';
import type { InitOptions } from '../nn/model.js';
import { particleCount } from './svgd.js';

/** M fresh parameter sets of `model`, stacked: each tensor `[M, …]` (particle m is the m-th `init`). */
export function initParticles(model: Model, particles: number, options: InitOptions = {}): Tensor[] {
  checkInteger('initParticles: particles', particles);
  const sets = Array.from({ length: particles }, () => model.init(options));
  return noGrad(() => sets[0]!.map((_, j) => stack(sets.map((s) => s[j]!))));
}

/** Particle m's parameters (differentiably: a gradient flows back to the stacked tensors). */
export function particle(particles: readonly Tensor[], m: number): Tensor[] {
  return particles.map((p) => index(p, 0, m));
}

/** A meta-batch's tasks one at a time: stacked tasks split (the ensemble methods adapt each task's particles apart). */
export function singleTasks(tasks: readonly Task[]): Task[] {
  return tasks.flatMap((t) => {
    if (t.stacked === undefined) return [t];
    if (t.split === undefined) throw new RangeError(`a stacked task of ${t.stacked} tasks without split(): give the probabilistic and Bayesian methods one task at a time`);
    return t.split();
  });
}

/** `x` repeated M times along a new leading axis: `[M, …x.shape]`. */
function tiled(x: Tensor, M: number): Tensor {
  return noGrad(() => {
    const t = broadcastTo(unsqueeze(x, 0), [M, ...x.shape]);
    return new Tensor(t.data, t.shape);
  });
}

/**
 * `task` as seen by M particles: a stacked Task whose t-th "task" is `task` under particle t.
 * Its `supportLoss` is the sum of the particles' support losses (so its gradient's row m is
 * particle m's own gradient) and its `queryLoss` their mean. An unstacked MSE supervised task
 * becomes one batched computation (its data tiled); any other Task is run particle by particle.
 */
export function particleTask(task: Task, particles: number): Task {
  checkInteger('particleTask: particles', particles);
  if (task.stacked !== undefined) throw new RangeError(`particleTask: give one task at a time (this one stacks ${task.stacked}; use task.split())`);
  if (task instanceof SupervisedTask && task.loss === 'mse' && task.innerBatch === undefined && task.batches === undefined && task.ySupport instanceof Tensor && task.yQuery instanceof Tensor) {
    const data = { xSupport: tiled(task.xSupport, particles), ySupport: tiled(task.ySupport, particles), xQuery: tiled(task.xQuery, particles), yQuery: tiled(task.yQuery, particles) };
    return new SupervisedTask(data, { stacked: true });
  }
  return new ParticleLoop(task, particles);
}

/** {@link particleTask} for any Task: each particle's losses in turn. */
class ParticleLoop implements Task {
  constructor(
    private readonly task: Task,
    readonly stacked: number,
  ) {}

  private total(params: readonly Tensor[], loss: (p: Tensor[]) => Tensor): Tensor {
    particleCount('particleTask', params);
    let acc: Tensor | null = null;
    for (let m = 0; m < this.stacked; m++) {
      const l = loss(particle(params, m));
      acc = acc === null ? l : add(acc, l);
    }
    return acc!;
  }

  supportLoss(model: Model, params: readonly Tensor[], step: number): Tensor {
    return this.total(params, (p) => this.task.supportLoss(model, p, step));
  }

  queryLoss(model: Model, params: readonly Tensor[], on?: 'query' | 'support', step?: number): Tensor {
    return scale(this.total(params, (p) => this.task.queryLoss(model, p, on, step)), 1 / this.stacked);
  }

  score(model: Model, params: readonly Tensor[], step?: number): number[] {
    return Array.from({ length: this.stacked }, (_, m) => this.task.score(model, noGrad(() => particle(params, m)), step)[0]!);
  }
}

/**
 * Every particle's output for inputs `x` (`[n, …]`): `[M, n, outputs]`. Models that take a
 * leading task axis (`mlp`) run all particles at once; others (`byParticle: true`) one at a time.
 */
export function predictParticles(model: Model, particles: readonly Tensor[], x: Tensor, options: { byParticle?: boolean } = {}): Tensor {
  const M = particleCount('predictParticles', particles);
  return noGrad(() => {
    if (options.byParticle === true) return stack(Array.from({ length: M }, (_, m) => model.forward(particle(particles, m), x)));
    return forwardStacked(model, particles, tiled(x, M), M);
  });
}
