/**
 * The training loop, apart from any algorithm: step until the planned iteration, evaluate and
 * checkpoint at intervals, report progress, stop cleanly when asked, and save before reporting a
 * failure, so a run never loses more than the iteration in progress.
 */
import { checkInteger } from '../checks.js';

/** Lets pending events run: Node's setImmediate, or a zero timeout where there is none (browsers). */
function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  return new Promise((resolve) => (immediate !== undefined ? immediate(resolve) : setTimeout(resolve, 0)));
}

/** What {@link trainLoop} runs and when. */
export interface TrainLoopOptions {
  /** Train until `iteration()` reaches this. */
  iterations: number;
  /** Iterations done so far (a resumed run starts past 0). */
  iteration(): number;
  /** One meta-iteration (e.g. `learner.step(tasks)`, or `trainer.stepAsync(pool)`); returns its loss. It must leave everything as it was if it throws. */
  step(): number | Promise<number>;
  /** Evaluate every this many iterations (0: never). Default 0. */
  evaluateEvery?: number;
  /** The periodic evaluation. */
  evaluate?(): void;
  /** Checkpoint every this many iterations (0: only on stopping, failing and finishing). Default 0. */
  checkpointEvery?: number;
  /** Writes a checkpoint (atomically, so an interrupted write loses nothing). */
  checkpoint?(): void;
  /** Called after each iteration with the iteration count and an exponential moving average of the loss. */
  onProgress?(iteration: number, lossAverage: number): void;
  /** Asked before each iteration (a signal handler sets what it reads): true stops the run after a checkpoint. */
  shouldStop?(): boolean;
}

/**
 * Runs `options.step` until `options.iteration()` reaches `options.iterations`. It yields to the
 * event loop once per iteration (so a signal handler or a worker's message gets through),
 * checkpoints before returning `'stopped'` when `shouldStop()` says so, checkpoints and rethrows
 * when a step throws, and checkpoints at the end. Returns how it ended.
 */
export async function trainLoop(options: TrainLoopOptions): Promise<'finished' | 'stopped'> {
  const { iterations, evaluateEvery = 0, checkpointEvery = 0 } = options;
  checkInteger('trainLoop: iterations', iterations, 0);
  checkInteger('trainLoop: evaluateEvery', evaluateEvery, 0);
  checkInteger('trainLoop: checkpointEvery', checkpointEvery, 0);
  let avg = NaN;
  while (options.iteration() < iterations) {
    await yieldToEventLoop();
    if (options.shouldStop?.() === true) {
      options.checkpoint?.();
      return 'stopped';
    }
    let loss: number;
    try {
      loss = await options.step();
    } catch (e) {
      // The failed step changed nothing: keep the iterations done since the last checkpoint.
      options.checkpoint?.();
      throw e;
    }
    avg = Number.isNaN(avg) ? loss : 0.95 * avg + 0.05 * loss;
    const it = options.iteration();
    if (evaluateEvery > 0 && it % evaluateEvery === 0) options.evaluate?.();
    if (checkpointEvery > 0 && it % checkpointEvery === 0) options.checkpoint?.();
    options.onProgress?.(it, avg);
  }
  options.checkpoint?.();
  return 'finished';
}
