/**
 * Locomotion tasks of the MAML paper (§5.3) on a planar running robot simulated by MuJoCo's
 * official WebAssembly build (`mujoco-js`, an optional dependency: install it to use these):
 * - goal velocity: reward −|vₓ − v*| − 0.05‖a‖², v* uniform in [0, 2];
 * - goal direction: reward d·vₓ − 0.05‖a‖², d = ±1 with equal probability;
 * vₓ the torso's forward speed over the control step (5 physics steps of 0.01 s), actions
 * clipped to [−1, 1], 200 steps an episode, each starting from the rest pose with uniform noise
 * of ±0.1 on the positions and normal noise of 0.1 on the velocities. Observations: the joint
 * positions but the forward one, and all joint velocities (17 numbers).
 */
import type { Rng } from '../random.js';
import { checkInteger } from '../checks.js';
import type { EpisodeBatch, Environment } from './environment.js';
import { RUNNER_MJCF } from './runner-model.js';

/** A locomotion task: a target forward velocity, or a direction (+1 forward, −1 backward). */
export interface RunnerTask {
  /** 'velocity': run at `target` m/s; 'direction': run fast towards `target` (±1). */
  kind: 'velocity' | 'direction';
  /** The goal velocity, or the direction. */
  target: number;
}

/** What this module uses of mujoco-js (its own types stay out of metagrad's public ones). */
interface MjVec {
  [i: number]: number;
  readonly length: number;
}
interface MjModelLike {
  readonly nq: number;
  readonly nv: number;
  readonly nu: number;
  delete(): void;
}
interface MjDataLike {
  readonly qpos: MjVec;
  readonly qvel: MjVec;
  readonly ctrl: MjVec;
  delete(): void;
}
interface Mujoco {
  FS: { mkdir(p: string): void; mount(fs: unknown, o: object, p: string): void; writeFile(p: string, s: string): void };
  MEMFS: unknown;
  MjModel: { loadFromXML(path: string): MjModelLike };
  MjData: new (m: MjModelLike) => MjDataLike;
  mj_step(m: MjModelLike, d: MjDataLike): void;
  mj_resetData(m: MjModelLike, d: MjDataLike): void;
  mj_forward(m: MjModelLike, d: MjDataLike): void;
}

const FRAME_SKIP = 5;
const DT = 0.01 * FRAME_SKIP;
const CONTROL_COST = 0.05;

/** Loads mujoco-js (once), or says how to get it. */
let loading: Promise<Mujoco> | null = null;
async function loadMujoco(): Promise<Mujoco> {
  loading ??= (async () => {
    const name = 'mujoco-js'; // a variable: the library itself does not depend on it
    let mod: { default: () => Promise<Mujoco> };
    try {
      mod = (await import(name)) as typeof mod;
    } catch (e) {
      loading = null;
      throw new Error(`the locomotion tasks need the optional package mujoco-js (MuJoCo's WebAssembly build): npm install mujoco-js@0.0.7 (${e instanceof Error ? e.message : String(e)})`);
    }
    return mod.default();
  })();
  return loading;
}

/** The planar runner's locomotion tasks (create with {@link PlanarRunner.create}). */
export class PlanarRunner implements Environment<RunnerTask> {
  /** 'cheetah-vel' or 'cheetah-dir', as the CLI names them. */
  readonly name: string;
  /** The joint positions but the forward one (8) and the velocities (9). */
  readonly observationSize = 17;
  /** Six motor controls, clipped to [−1, 1]. */
  readonly actionSize = 6;
  private readonly pool: MjDataLike[] = [];

  private constructor(
    private readonly mujoco: Mujoco,
    private readonly model: MjModelLike,
    /** Which task family. */
    readonly kind: RunnerTask['kind'],
    /** Control steps per episode. */
    readonly horizon: number,
  ) {
    this.name = kind === 'velocity' ? 'cheetah-vel' : 'cheetah-dir';
  }

  /** Loads MuJoCo and compiles the robot; `kind` picks the task family. */
  static async create(kind: RunnerTask['kind'], horizon = 200): Promise<PlanarRunner> {
    if (kind !== 'velocity' && kind !== 'direction') throw new RangeError(`PlanarRunner: kind must be 'velocity' or 'direction', got ${JSON.stringify(kind)}`);
    checkInteger('PlanarRunner: horizon', horizon);
    const mujoco = await loadMujoco();
    const dir = `/metagrad-${Math.random().toString(36).slice(2)}`;
    mujoco.FS.mkdir(dir);
    mujoco.FS.writeFile(`${dir}/runner.xml`, RUNNER_MJCF);
    const model = mujoco.MjModel.loadFromXML(`${dir}/runner.xml`);
    return new PlanarRunner(mujoco, model, kind, horizon);
  }

  /** Goal velocities uniform in [0, 2], or directions ±1. */
  sampleTasks(count: number, rng: Rng): RunnerTask[] {
    checkInteger('PlanarRunner.sampleTasks: count', count);
    return Array.from({ length: count }, () => (this.kind === 'velocity' ? { kind: 'velocity', target: rng.uniformIn(0, 2) } : { kind: 'direction', target: rng.uniform() < 0.5 ? -1 : 1 }));
  }

  /** Starts `episodes` episodes per task from noisy rest poses. */
  reset(tasks: readonly RunnerTask[], episodes: number, rng: Rng): EpisodeBatch {
    checkInteger('PlanarRunner.reset: episodes', episodes);
    if (tasks.length === 0) throw new RangeError('PlanarRunner.reset: no tasks');
    const { mujoco, model } = this;
    const n = tasks.length * episodes;
    while (this.pool.length < n) this.pool.push(new mujoco.MjData(model));
    const runs = this.pool.slice(0, n);
    for (const d of runs) {
      mujoco.mj_resetData(model, d);
      for (let i = 0; i < model.nq; i++) d.qpos[i] = d.qpos[i]! + rng.uniformIn(-0.1, 0.1);
      for (let i = 0; i < model.nv; i++) d.qvel[i] = 0.1 * rng.normal();
      mujoco.mj_forward(model, d);
    }
    const observe = (): Float32Array => {
      const out = new Float32Array(n * 17);
      runs.forEach((d, e) => {
        for (let i = 1; i < 9; i++) out[e * 17 + i - 1] = d.qpos[i]!;
        for (let i = 0; i < 9; i++) out[e * 17 + 8 + i] = d.qvel[i]!;
      });
      return out;
    };
    return {
      observations: observe,
      step: (actions) => {
        if (actions.length !== 6 * n) throw new RangeError(`PlanarRunner: expected ${6 * n} action values (${n} episodes × 6), got ${actions.length}`);
        const rewards = new Float64Array(n);
        runs.forEach((d, e) => {
          let cost = 0;
          for (let j = 0; j < 6; j++) {
            const a = Math.max(-1, Math.min(1, actions[6 * e + j]!));
            d.ctrl[j] = a;
            cost += a * a;
          }
          const x0 = d.qpos[0]!;
          for (let s = 0; s < FRAME_SKIP; s++) mujoco.mj_step(model, d);
          const v = (d.qpos[0]! - x0) / DT;
          const task = tasks[Math.floor(e / episodes)]!;
          rewards[e] = (task.kind === 'velocity' ? -Math.abs(v - task.target) : task.target * v) - CONTROL_COST * cost;
        });
        return { rewards, done: new Uint8Array(n) };
      },
    };
  }

  /** Frees MuJoCo's memory for this environment. */
  close(): void {
    for (const d of this.pool.splice(0)) d.delete();
    this.model.delete();
  }
}
