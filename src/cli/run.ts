/** The run management the training CLIs share: checkpoint flags, one run per checkpoint, stopping on a signal. */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import { loadSafetensors, lockFile } from '../io/node.js';

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
export function openCheckpoint(f: CheckpointFlags): { tensors: Record<string, import('../tensor.js').Tensor>; metadata: Record<string, string> } | undefined {
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
