/**
 * The 2-D navigation tasks of the MAML paper (§5.3): a point agent starts at the origin and must
 * reach a goal drawn uniformly from [−0.5, 0.5]²; each step moves it by the action clipped to
 * [−0.1, 0.1] per coordinate; the reward is the negative distance to the goal after the move; an
 * episode ends at 100 steps or once both coordinates are within 0.01 of the goal. As in the
 * authors' code, the policy's raw action a is mapped to 0.1·clip(a, −1, 1).
 */
import type { Rng } from '../random.js';
import { checkInteger } from '../checks.js';
import type { EpisodeBatch, Environment } from './environment.js';

/** A navigation task: where the goal is. */
export interface NavigationGoal {
  /** The goal's first coordinate. */
  x: number;
  /** The goal's second coordinate. */
  y: number;
}

/** The environment family; `horizon` defaults to the paper's 100. */
export class Navigation2D implements Environment<NavigationGoal> {
  /** The name the CLI uses. */
  readonly name = 'nav2d';
  /** The agent's position. */
  readonly observationSize = 2;
  /** A move, before clipping and scaling. */
  readonly actionSize = 2;
  /** @param horizon steps per episode at most */
  constructor(readonly horizon = 100) {
    checkInteger('Navigation2D: horizon', horizon);
  }

  /** `count` goals uniform in [−0.5, 0.5]². */
  sampleTasks(count: number, rng: Rng): NavigationGoal[] {
    checkInteger('Navigation2D.sampleTasks: count', count);
    return Array.from({ length: count }, () => ({ x: rng.uniformIn(-0.5, 0.5), y: rng.uniformIn(-0.5, 0.5) }));
  }

  /** Starts `episodes` episodes per goal, every agent at the origin. */
  reset(tasks: readonly NavigationGoal[], episodes: number): EpisodeBatch {
    checkInteger('Navigation2D.reset: episodes', episodes);
    if (tasks.length === 0) throw new RangeError('Navigation2D.reset: no tasks');
    const n = tasks.length * episodes;
    const pos = new Float32Array(2 * n);
    const ended = new Uint8Array(n);
    return {
      observations: () => pos.slice(),
      step(actions) {
        if (actions.length !== 2 * n) throw new RangeError(`Navigation2D: expected ${2 * n} action values (${n} episodes × 2), got ${actions.length}`);
        const rewards = new Float64Array(n);
        const done = new Uint8Array(n);
        for (let e = 0; e < n; e++) {
          if (ended[e]) continue;
          const goal = tasks[Math.floor(e / episodes)]!;
          for (let d = 0; d < 2; d++) pos[2 * e + d] = pos[2 * e + d]! + 0.1 * Math.max(-1, Math.min(1, actions[2 * e + d]!));
          const dx = pos[2 * e]! - goal.x;
          const dy = pos[2 * e + 1]! - goal.y;
          rewards[e] = -Math.sqrt(dx * dx + dy * dy);
          if (Math.abs(dx) < 0.01 && Math.abs(dy) < 0.01) done[e] = ended[e] = 1;
        }
        return { rewards, done };
      },
    };
  }
}
