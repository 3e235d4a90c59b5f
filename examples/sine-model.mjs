// The model of examples/worker-threads.mjs, in a module of its own so that each worker thread can
// import it and build the same network.
import * as mg from 'metagrad';

export function makeModel(sizes) {
  return mg.mlp(sizes);
}
