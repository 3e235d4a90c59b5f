// A model factory for worker threads to import (TaskWorkers' { module, export, options } form).
import * as mg from '../../build/src/index.js';

/** A tanh MLP of the given layer sizes. */
export function makeMlp(sizes) {
  return mg.mlp(sizes, { activation: 'tanh' });
}
