/**
 * Sizes no machine can hold are refused at once, naming the op, instead of exhausting memory or
 * failing deep inside with a runtime's own message.
 */
import { expect, test } from 'vitest';
import * as mg from '../src/index.js';

test('oversized tensors are refused by the op asked for them, before any allocation', () => {
  expect(() => mg.zeros([1e10])).toThrow(/^zeros: shape \[10000000000\] needs 10000000000 elements, more than a tensor may hold \(2147483647\)$/);
  expect(() => mg.ones([1e5, 1e5])).toThrow(/^ones: shape \[100000,100000\] needs 10000000000 elements/);
  expect(() => mg.randn([65536, 65536])).toThrow(/^randn: shape/);
  expect(() => mg.linspace(0, 1, 1e10)).toThrow(/^linspace: n = 10000000000 needs 10000000000 elements/);
  expect(() => mg.pad(mg.zeros([2, 3]), 0, 1e10, 0)).toThrow(/^pad: the padded shape \[10000000002,3\] needs/);
  expect(() => mg.conv2d(mg.zeros([1, 4, 4, 1]), mg.zeros([3, 3, 1, 1]), { padding: 1e9 })).toThrow(/^conv2d: the output of \d+×\d+ positions \(padding 1000000000\) needs \d+ elements, more than a tensor may hold/);
  expect(() => new mg.SineTasks().sampleBatch(1e9)).toThrow(/^SineTasks\.sampleBatch: 1000000000 tasks is more than a batch may hold \(16777216\)$/);
  expect(() => new mg.SineTasks({ shots: 1e9 }).sampleBatch(10)).toThrow(/^SineTasks\.sampleBatch: 10 tasks of 1000000000 points needs/);
  // The same ops at sizes that fit are unaffected.
  expect(mg.pad(mg.zeros([2, 3]), 0, 1, 2).shape).toEqual([5, 3]);
  expect(mg.linspace(0, 1, 3).toArray()).toEqual([0, 0.5, 1]);
});

test('a nested array deeper than any tensor is refused, not a stack overflow', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  expect(() => mg.tensor(deep as never)).toThrow(/^tensor: the nested array is more than 64 levels deep$/);
  let ok: unknown = 2;
  for (let i = 0; i < 20; i++) ok = [ok];
  expect(mg.tensor(ok as never).size).toBe(1);
});
