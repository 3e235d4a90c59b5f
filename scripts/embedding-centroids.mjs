// The nearest-centroid baseline on the LEO embeddings: each query goes to the class whose
// support features (unit length, as LEO sees them) have the nearest mean. 600 test episodes per
// setting, drawn as `npm run leo`'s final report draws them (seed + 54321), 15 queries per class.
//
//   node scripts/embedding-centroids.mjs [runs/omniglot-embeddings.safetensors] [seed]
import * as mg from '../build/src/index.js';
import { loadSafetensors } from '../build/src/io/node.js';

const file = process.argv[2] ?? 'runs/omniglot-embeddings.safetensors';
const seed = Number(process.argv[3] ?? 0);
const test = mg.unitLength(loadSafetensors(file).tensors.test);
const E = test.shape[2];
for (const [n, k] of [[5, 1], [5, 5], [20, 1], [20, 5]]) {
  const rng = new mg.Rng(seed + 54321);
  const accs = [];
  for (let e = 0; e < 600; e++) {
    const t = mg.featureEpisode(test, n, k, 15, rng);
    const centroids = new Float64Array(n * E);
    for (let i = 0; i < n * k; i++) for (let j = 0; j < E; j++) centroids[t.ySupport[i] * E + j] += t.xSupport.data[i * E + j] / k;
    let right = 0;
    for (let q = 0; q < t.yQuery.length; q++) {
      let best = -1, nearest = Infinity;
      for (let c = 0; c < n; c++) {
        let d = 0;
        for (let j = 0; j < E; j++) d += (t.xQuery.data[q * E + j] - centroids[c * E + j]) ** 2;
        if (d < nearest) [nearest, best] = [d, c];
      }
      right += best === t.yQuery[q] ? 1 : 0;
    }
    accs.push(right / t.yQuery.length);
  }
  const r = mg.meanCI(accs);
  console.log(`${n}-way ${k}-shot, nearest centroid: ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.ci95).toFixed(2)} (600 episodes)`);
}
