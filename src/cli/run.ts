/** The run management the training CLIs share: checkpoint flags, one run per checkpoint, stopping on a signal. */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import { loadSafetensors, lockFile } from '../io/node.js';
import { trainLoop } from '../train/loop.js';

/** The `parseArgs` options every training CLI shares: evaluation, checkpoint and resume flags. */
export const RUN_OPTIONS = {
  'eval-every': { type: 'string' },
  'eval-episodes': { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'boolean', default: false },
  overwrite: { type: 'boolean', default: false },
  evaluate: { type: 'boolean', default: false },
} as const;

/** The checkpoint flags of a training CLI. */
export interface CheckpointFlags {
  checkpoint?: string;
  resume: boolean;
  overwrite: boolean;
  /** Report on the checkpoint, train nothing. */
  evaluate: boolean;
}

/**
 * Checks the checkpoint flags, takes the checkpoint's lock for a training run, and reads the
 * checkpoint to resume or evaluate. A new run refuses an existing checkpoint without --overwrite:
 * a forgotten --resume must not replace hours of training with iteration 0.
 */
export function openCheckpoint(f: CheckpointFlags): ReturnType<typeof loadSafetensors> | undefined {
  const checkpoint = f.checkpoint;
  if ((f.resume || f.evaluate) && (checkpoint === undefined || !existsSync(checkpoint))) {
    throw new Error(`--${f.resume ? 'resume' : 'evaluate'} needs an existing --checkpoint file, got ${checkpoint ?? 'none'}`);
  }
  if (f.overwrite && (f.resume || f.evaluate)) throw new Error(`--overwrite starts a new run over --checkpoint; it cannot be combined with --${f.resume ? 'resume' : 'evaluate'}`);
  if (!f.resume && !f.evaluate && checkpoint !== undefined && existsSync(checkpoint) && !f.overwrite) {
    throw new Error(`${checkpoint} already exists: continue that run with --resume, or start a new one over it with --overwrite`);
  }
  // One run per checkpoint: a second one (a --resume typed while the first still trains) would
  // keep replacing the first one's progress with its own. Released when this process exits.
  if (checkpoint !== undefined && !f.evaluate) lockFile(checkpoint);
  return f.resume || f.evaluate ? loadSafetensors(checkpoint!) : undefined;
}

/** Restores a trainer from the checkpoint `file` held, an error naming the file; says what it resumed. */
export function restoreRun(trainer: { setState(state: ReturnType<typeof loadSafetensors>): void; readonly iteration: number }, saved: ReturnType<typeof loadSafetensors>, file: string, evaluating: boolean): void {
  try {
    trainer.setState(saved);
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  console.error(`${evaluating ? 'evaluating' : 'resumed from'} ${file} at iteration ${trainer.iteration}`);
}

/**
 * From now on SIGINT and SIGTERM ask the run to stop (`signal()` names the one received) after
 * the iteration in progress; a second signal stops at once (checkpoints are written atomically,
 * so none is half-written). `exitCode` is 128 + the signal's number.
 */
export function stopOnSignals(): { signal(): NodeJS.Signals | null; exitCode(): number } {
  let received: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received !== null) process.exit(128 + os.constants.signals[sig]);
    received = sig;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
  return { signal: () => received, exitCode: () => (received === null ? 0 : 128 + os.constants.signals[received]) };
}

/** What {@link trainWithCheckpoints} needs of a CLI's run. */
export interface CheckpointedRun {
  /** The checkpoint file, or none (then no signal handling and no checkpoints). */
  checkpoint?: string;
  iterations: number;
  iteration(): number;
  step(): number | Promise<number>;
  evaluateEvery: number;
  evaluate(): void;
  checkpointEvery: number;
  /** Writes the checkpoint. */
  save(): void;
  /** Called after each iteration with the iteration and the loss average (a progress bar). */
  onProgress(iteration: number, lossAverage: number): void;
  /** Runs after the first checkpoint and before training (worker threads, say); `close` runs however the loop ends. */
  open?(): Promise<{ close(): Promise<void> } | undefined>;
}

/**
 * The training loop of a CLI: Ctrl-C and SIGTERM stop after the iteration in progress; with a
 * checkpoint, it is written before any training (so an unwritable path fails at once; for
 * --resume it rewrites the state just read), periodically, on stopping and on a failed step, whose
 * error then says where to resume. Returns false (exit code set) if a signal stopped the run.
 */
export async function trainWithCheckpoints(run: CheckpointedRun): Promise<boolean> {
  const { checkpoint } = run;
  const stop = checkpoint === undefined ? null : stopOnSignals();
  if (checkpoint !== undefined) run.save();
  const resource = await run.open?.();
  let ended: 'finished' | 'stopped';
  try {
    ended = await trainLoop({
      iterations: run.iterations,
      iteration: run.iteration,
      step: run.step,
      evaluateEvery: run.evaluateEvery,
      evaluate: run.evaluate,
      checkpointEvery: checkpoint === undefined ? 0 : run.checkpointEvery,
      checkpoint: checkpoint === undefined ? undefined : run.save,
      onProgress: run.onProgress,
      shouldStop: () => stop?.signal() != null,
    });
  } catch (e) {
    // A failed step (a worker that died, a gradient that diverged to NaN) leaves the trainer as
    // it was, and the loop has written the checkpoint of the last good iteration.
    if (checkpoint === undefined) throw e;
    throw new Error(`${e instanceof Error ? e.message : String(e)}\ncheckpoint written to ${checkpoint} at iteration ${run.iteration()}; continue with --resume`);
  } finally {
    await resource?.close();
  }
  if (ended === 'stopped') {
    console.error(`\n${stop!.signal()}: stopped at iteration ${run.iteration()}; checkpoint written to ${checkpoint}, continue with --resume`);
    process.exitCode = stop!.exitCode();
    return false;
  }
  return true;
}
