#!/usr/bin/env node
/**
 * Calibration on Omniglot 5-way 1-shot at equal meta-iterations: MAML, EMAML and BMAML (M
 * particles) from the same initialisation seed, the MAML preset's inner step (0.4, one step in
 * training, three at test; BMAML's SVGD step the same 0.4, see docs/bayes.md). Writes accuracy, ECE, MCE
 * and the reliability table of the transductive test episodes, and the time per meta-iteration,
 * to results/bayes/omniglot-<method>.json.
 *
 *   node --experimental-wasm-relaxed-simd scripts/omniglot-bayes.mjs --method maml|emaml|bmaml
 *        [--iterations N] [--meta-batch N] [--particles M] [--episodes N] [--data DIR] [--cache FILE]
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as mg from '../build/src/index.js';
import { loadOmniglot, writeFileAtomicSync } from '../build/src/node.js';

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'maml' },
    iterations: { type: 'string', default: '1000' },
    'meta-batch': { type: 'string', default: '8' },
    particles: { type: 'string', default: '5' },
    episodes: { type: 'string', default: '600' },
    data: { type: 'string', default: '../shared/data/omniglot' },
    cache: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
const method = values.method;
if (!['maml', 'emaml', 'bmaml'].includes(method)) throw new RangeError(`--method must be maml, emaml or bmaml, got '${method}'`);
const [iterations, metaBatch, M, episodes, seed] = [values.iterations, values['meta-batch'], values.particles, values.episodes, values.seed].map(Number);
const preset = mg.PRESETS['maml-5way-1shot'];
const { nWay, kShot, innerLr } = preset;
const evalSteps = preset.evalSteps;

const chars = loadOmniglot(values.data, { cache: values.cache });
const counts = mg.CLASS_SPLITS.standard;
const { train, test } = mg.splitCharacters(chars, new mg.Rng(seed), counts.train, counts.validation);
const trainClasses = mg.classesOf(train, true);
const testClasses = mg.classesOf(test, false);
const model = mg.fewShotModel(preset);
const rng = new mg.Rng(seed + 1);
const members = method === 'maml' ? 1 : M;
const params = mg.initParticles(model, members, { rng: new mg.Rng(seed + 2) });
const algorithm =
  method === 'bmaml' ? mg.bmaml({ innerLr, innerSteps: 1 }) : mg.emaml({ innerLr, innerSteps: 1 }); // MAML: EMAML with one particle
const learner = new mg.MetaLearner(model, params, algorithm, new mg.Adam({ lr: 1e-3 }));
const label = `${method}${method === 'maml' ? '' : ` (${M} particles)`}`;
console.error(`omniglot-bayes: ${label}, ${iterations} meta-iterations of ${metaBatch} 5-way 1-shot episodes`);

const started = Date.now();
let avg = NaN;
for (let it = 1; it <= iterations; it++) {
  const tasks = Array.from({ length: metaBatch }, () => mg.episodeTask(mg.sampleEpisode(trainClasses, nWay, kShot, 1, rng)));
  const loss = learner.step(tasks);
  avg = Number.isNaN(avg) ? loss : 0.98 * avg + 0.02 * loss;
  if (it % 50 === 0 || it === iterations) console.error(`  ${it}/${iterations} loss ${avg.toFixed(3)} (${((Date.now() - started) / it).toFixed(0)} ms/it)`);
}
const msPerIteration = (Date.now() - started) / iterations;

const evalRng = new mg.Rng(seed + 54321);
const probs = [];
const labels = [];
for (let e = 0; e < episodes; e++) {
  mg.tidy(() => {
    const ep = mg.sampleEpisode(testClasses, nWay, kShot, 1, evalRng);
    const ensemble = algorithm.adapt(model, learner.params, mg.episodeTask(ep), { steps: evalSteps });
    const logits = mg.noGrad(() => mg.stack(Array.from({ length: members }, (_, m) => model.forward(mg.particle(ensemble, m), ep.xQuery, { step: evalSteps }))));
    probs.push(...mg.classProbabilities(logits));
    labels.push(...ep.yQuery);
  });
}
const c = mg.calibration(probs, labels, 10);
console.log(`${label}: accuracy ${(100 * c.accuracy).toFixed(2)}%, ECE ${(100 * c.ece).toFixed(2)}%, MCE ${(100 * c.mce).toFixed(2)}% over ${episodes} test episodes; ${msPerIteration.toFixed(0)} ms per meta-iteration`);
mkdirSync('results/bayes', { recursive: true });
const out = `results/bayes/omniglot-${method}.json`;
writeFileAtomicSync(out, `${JSON.stringify({ method, particles: members, iterations, metaBatch, episodes, msPerIteration, accuracy: c.accuracy, ece: c.ece, mce: c.mce, bins: c.bins }, null, 2)}\n`);
console.log(`wrote ${out}`);
