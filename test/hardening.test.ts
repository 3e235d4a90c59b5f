/** Lenient inputs that used to be accepted or named badly: now the right result or a clear error. */
import { expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { intOption } from '../src/cli/args.js';

test('integer flags take decimal digits only', () => {
  expect(intOption('iterations', '20', 1)).toBe(20);
  expect(intOption('iterations', undefined, 7)).toBe(7);
  for (const bad of ['0x2', ' 2 ', '2e0', '', '+2', '2.0', '-1', '1e30']) {
    expect(() => intOption('iterations', bad, 1)).toThrow(new RegExp(`^--iterations must be an integer ≥ 1, got '${bad.replace(/[.+]/g, '\\$&')}'$`));
  }
  expect(() => intOption('seed', '99999999999999999999', 0, 0)).toThrow(/--seed must be an integer ≥ 0/);
});

test('class labels may come as any typed array; a non-integer label is named by its value', () => {
  const logits = mg.tensor([[2, 0, 0], [0, 2, 0], [0, 0, 2], [1, 1, 1]]);
  const want = mg.crossEntropy(logits, [0, 1, 2, 1]).item();
  for (const labels of [Int32Array.of(0, 1, 2, 1), Float32Array.of(0, 1, 2, 1), Float64Array.of(0, 1, 2, 1), Uint8Array.of(0, 1, 2, 1)]) {
    expect(mg.crossEntropy(logits, labels).item()).toBe(want);
  }
  expect(() => mg.crossEntropy(logits, Float32Array.of(0, 1.5, 2, 1))).toThrow(/^crossEntropy: index 1\.5 at position 1 is not an integer in \[0, 3\)$/);
});
