/**
 * What a reinforcement-learning environment is to metagrad: a family of tasks (goals, target
 * velocities, …) and a batched simulator that runs many episodes of many tasks at once, so a
 * meta-batch's rollouts take one policy evaluation per time step.
 */
import type { Rng } from '../random.js';

/** One time step of a batch of episodes. */
export interface StepResult {
  /** Each episode's reward for this step. */
  rewards: Float64Array;
  /** 1 where the episode ended at this step (it then takes no more steps). */
  done: Uint8Array;
}

/** Running episodes: `count` of them, episode e of task ⌊e / episodes⌋. */
export interface EpisodeBatch {
  /** The current observations, `[count, observationSize]` row-major. */
  observations(): Float32Array;
  /** Applies one action per episode (`[count, actionSize]`, the policy's raw output). */
  step(actions: Float32Array): StepResult;
}

/** An environment family with task parameters `P` (e.g. a goal position). */
export interface Environment<P> {
  /** The name the CLI and reports use. */
  readonly name: string;
  /** Numbers per observation. */
  readonly observationSize: number;
  /** Numbers per action (the policy's raw output; the environment clips or scales it). */
  readonly actionSize: number;
  /** Steps per episode at most. */
  readonly horizon: number;
  /** `count` tasks drawn from the task distribution. */
  sampleTasks(count: number, rng: Rng): P[];
  /** Starts `episodes` episodes of each task. */
  reset(tasks: readonly P[], episodes: number, rng: Rng): EpisodeBatch;
}
