// A module worker: the library loads its WASM synchronously here, so no `await mg.ready()`.
import * as mg from '/build/src/index.js';
import { runChecks } from './checks.mjs';

postMessage(runChecks(mg, 'worker'));
