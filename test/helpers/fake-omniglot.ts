/** Random binary 28×28 "characters" (20 images each) standing in for Omniglot in tests. */
import { Rng } from '../../src/random.js';
import type { Character } from '../../src/tasks/omniglot.js';

export function fakeCharacters(count: number, seed: number): Character[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, c) => ({
    alphabet: 'fake',
    name: `character${c}`,
    images: Array.from({ length: 20 }, () => Float32Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 : 0))),
  }));
}
