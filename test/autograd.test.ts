/** The tape's API: grad / backward semantics, graph lifetime, grad modes, and their errors. */
import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';

const f64 = { dtype: 'float64' as const };
const leaf = (v: number[] | number[][]) => mg.tensor(v, { ...f64, requiresGrad: true });

describe('grad', () => {
  test('returns one gradient per input with its shape; a single tensor input gives a single tensor', () => {
    const x = leaf([[1, 2, 3]]);
    const y = leaf([2]);
    const loss = mg.sum(mg.mul(x, y));
    const [gx, gy] = mg.grad(loss, [x, y], { retainGraph: true });
    expect(gx!.toArray()).toEqual([[2, 2, 2]]);
    expect(gy!.toArray()).toEqual([6]);
    expect(mg.grad(loss, y).toArray()).toEqual([6]);
  });

  test('a gradient one rule hands to two inputs stays intact when it is summed into the first (recycled arrays are NaN in tests)', () => {
    // add(p, q) passes its gradient to p and to q; p already has one (from 7·p, later on the
    // tape), so the array is summed into p's and must still be q's. 2048 elements: pooled.
    const x = mg.ones([2048], { requiresGrad: true });
    const p = mg.scale(x, 3);
    const n = mg.add(p, mg.scale(x, 5));
    const [g] = mg.grad(mg.sum(mg.add(n, mg.scale(p, 7))), [x]);
    expect(new Set(g!.data)).toEqual(new Set([29])); // 3 + 5 + 21
  });

  test('without createGraph the gradients are constants and the graph is freed', () => {
    const x = leaf([1, 2]);
    const loss = mg.sum(mg.exp(x));
    const g = mg.grad(loss, x);
    expect(g.requiresGrad).toBe(false);
    expect(g.node).toBeNull();
    expect(loss.node!.vjp).toBeNull();
    expect(() => mg.grad(loss, x)).toThrow(/already freed.*retainGraph/);
  });

  test('retainGraph allows a second traversal with the same result', () => {
    const x = leaf([0.5, -1]);
    const loss = mg.sum(mg.tanh(x));
    const a = mg.grad(loss, x, { retainGraph: true });
    const b = mg.grad(loss, x);
    expect(b.toArray()).toEqual(a.toArray());
  });

  test('with createGraph the gradient is differentiable again (d²/dx² x³ = 6x)', () => {
    const x = leaf([2, -1]);
    const g = mg.grad(mg.sum(mg.pow(x, 3)), x, { createGraph: true });
    expect(g.requiresGrad).toBe(true);
    expect(g.toArray()).toEqual([12, 3]);
    expect(mg.grad(mg.sum(g), x).toArray()).toEqual([12, -6]);
  });

  test('gradients with respect to an intermediate tensor, without walking past it', () => {
    const x = leaf([1, 2]);
    const h = mg.mul(x, 3);
    const loss = mg.sum(mg.square(h));
    expect(mg.grad(loss, h, { retainGraph: true }).toArray()).toEqual([6, 12]);
    // the graph from x to h was not part of that sweep, so it is still there
    expect(mg.grad(loss, x).toArray()).toEqual([18, 36]);
  });

  test('gradOutput weights a non-scalar output (a vector–Jacobian product)', () => {
    const x = leaf([1, 2, 3]);
    const y = mg.square(x);
    const g = mg.grad(y, x, { gradOutput: mg.tensor([1, 0, -1], f64) });
    expect(g.toArray()).toEqual([2, 0, -6]);
  });

  test('several outputs: gradients add up', () => {
    const x = leaf([1, 2]);
    const g = mg.grad([mg.sum(x), mg.sum(mg.square(x))], x);
    expect(g.toArray()).toEqual([3, 5]);
  });

  test('allowUnused gives zeros for inputs the output does not depend on', () => {
    const x = leaf([1]);
    const y = leaf([1, 2]);
    const [gx, gy] = mg.grad(mg.sum(x), [x, y], { allowUnused: true });
    expect(gx!.toArray()).toEqual([1]);
    expect(gy!.toArray()).toEqual([0, 0]);
  });

  test('errors name the problem', () => {
    const x = leaf([1, 2]);
    const c = mg.tensor([1, 2], f64);
    expect(() => mg.grad(mg.sum(mg.square(x)), [x, leaf([3])])).toThrow(/input 1 .*not used to compute the output.*allowUnused/);
    expect(() => mg.grad(mg.square(x), x)).toThrow(/output 0 has shape \[2\]; a non-scalar output needs gradOutput/);
    expect(() => mg.grad(mg.sum(x), c)).toThrow(/input 0 \(shape \[2\]\) does not require grad/);
    expect(() => mg.grad(mg.sum(c), x)).toThrow(/output 0 does not require grad/);
    expect(() => mg.grad(mg.square(x), x, { gradOutput: mg.tensor([1, 2, 3], f64) })).toThrow(/gradOutput 0 has shape \[3\] but the output has shape \[2\]/);
    expect(() => mg.grad(mg.square(x), x, { gradOutput: mg.tensor([1, 2]) })).toThrow(/gradOutput 0 is float32 but the output is float64/);
    expect(() => mg.grad(mg.sum(x), [])).toThrow(/no inputs/);
    // A function where a tensor belongs (grad(f, xs) as in JAX) is named, not "not iterable".
    expect(() => mg.grad(((p: mg.Tensor[]) => mg.sum(p[0]!)) as never, [x])).toThrow(/grad: outputs must be a Tensor or a list of Tensors, got a function \(for the gradient of a function, use valueAndGrad\(f\)\(xs\)\)/);
    expect(() => mg.grad(mg.sum(x), 3 as never)).toThrow(/grad: inputs must be a Tensor or a list of Tensors, got 3/);
    expect(() => mg.grad(mg.square(x), x, { gradOutput: [[1, 1]] as never })).toThrow(/grad: gradOutput 0 is not a Tensor/);
    expect(() => mg.grad(mg.square(x), x, { gradOutput: 5 as never })).toThrow(/grad: gradOutput must be a Tensor or a list of Tensors, got number/);
    expect(() => mg.backward(undefined as never)).toThrow(/backward: output 0 is not a Tensor/);
  });
});

describe('backward', () => {
  test('accumulates into .grad of leaves across calls', () => {
    const w = leaf([1, 2]);
    const b = leaf([0.5]);
    mg.sum(mg.add(mg.mul(w, 3), b)).backward();
    expect(w.grad!.toArray()).toEqual([3, 3]);
    expect(b.grad!.toArray()).toEqual([2]);
    mg.sum(mg.mul(w, w)).backward();
    expect(w.grad!.toArray()).toEqual([5, 7]);
    expect(w.grad!.requiresGrad).toBe(false);
  });

  test('a non-scalar needs gradOutput', () => {
    const w = leaf([1, 2]);
    expect(() => mg.square(w).backward()).toThrow(/non-scalar output needs gradOutput/);
    mg.square(w).backward(mg.tensor([1, 1], f64));
    expect(w.grad!.toArray()).toEqual([2, 4]);
  });
});

describe('grad modes', () => {
  test('noGrad records nothing; enableGrad re-enables inside it', () => {
    const x = leaf([1]);
    const y = mg.noGrad(() => mg.exp(x));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    const z = mg.noGrad(() => mg.enableGrad(() => mg.exp(x)));
    expect(z.requiresGrad).toBe(true);
    expect(mg.isGradEnabled()).toBe(true);
  });

  test('noGrad restores the mode when the function throws', () => {
    expect(() =>
      mg.noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(mg.isGradEnabled()).toBe(true);
  });

  test('detach cuts the tape and shares data', () => {
    const x = leaf([2]);
    const y = mg.square(x);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.data).toBe(y.data);
    const z = mg.add(mg.mul(d, x), y); // d is a constant: dz/dx = d + 2x = 4 + 4
    expect(mg.grad(z, x).toArray()).toEqual([8]);
  });

  test('requireGrad only on leaves', () => {
    const x = mg.tensor([1, 2], f64).requireGrad();
    expect(x.requiresGrad).toBe(true);
    expect(() => mg.exp(x).requireGrad(false)).toThrow(/only leaf tensors.*'exp'/);
  });
});

describe('op errors name the op and the shapes', () => {
  const a = mg.zeros([2, 3]);
  test.each([
    ['add', () => mg.add(a, mg.zeros([4])), /add: shapes \[2,3\] and \[4\] cannot be broadcast together/],
    ['mul dtype', () => mg.mul(a, mg.zeros([2, 3], f64)), /mul: dtype mismatch: float32 and float64/],
    ['matmul', () => mg.matmul(a, mg.zeros([2, 3])), /matmul: inner dimensions differ: \[2,3\] · \[2,3\] \(3 vs 2\)/],
    ['matmul 1-D', () => mg.matmul(mg.zeros([3]), a), /matmul: both operands need at least 2 dimensions/],
    ['matmul 1-D right', () => mg.matmul(a, mg.zeros([3])), /matmul: both operands need at least 2 dimensions, got \[2,3\] and \[3\]/],
    ['matmul transposed', () => mg.matmul(a, a, true, true), /matmul: inner dimensions differ: \[2,3\]ᵀ · \[2,3\]ᵀ \(2 vs 3\)/],
    ['matmul dtype', () => mg.matmul(a, mg.zeros([3, 2], f64)), /matmul: dtype mismatch: float32 and float64 \(convert one with astype\)/],
    ['matmul second operand', () => mg.matmul(a, [[1, 2]] as never), /matmul: both operands must be Tensors/],
    ['matmul second flag', () => mg.matmul(a, a, false, 1 as never), /matmul: transA and transB must be booleans .*got boolean and number/],
    ['unary non-tensor', () => mg.exp([1] as never), /exp: the input must be a Tensor, got an array \(make it a tensor with tensor\(values\)\)/],
    ['binary null', () => mg.mul(a, null as never), /mul: expected a Tensor or a number, got null/],
    ['mse target', () => mg.mse(a, [[0, 0, 0]] as never), /mse: target must be a Tensor, got an array/],
    ['conv2d filter', () => mg.conv2d(mg.zeros([1, 3, 3, 1]), null as never), /conv2d: w must be a Tensor, got null/],
    ['axes string', () => mg.mean(a, '0' as never), /mean: axes must be an integer or a list of integers, got "0"/],
    // An options object where the flags go would be truthy, and silently transpose a.
    ['matmul flags', () => mg.matmul(a, a, { transposeB: true } as never), /matmul: transA and transB must be booleans \(matmul\(a, b, transA, transB\)\), got object and boolean/],
    ['matmul batch', () => mg.matmul(mg.zeros([2, 2, 3]), mg.zeros([3, 3, 1])), /matmul: shapes \[2\] and \[3\] cannot be broadcast/],
    ['reshape', () => mg.reshape(a, [4, 2]), /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/],
    ['reshape -1', () => mg.reshape(a, [-1, 4]), /reshape: cannot reshape \[2,3\]/],
    ['sum axis', () => mg.sum(a, 2), /sum: axis 2 is out of range for a tensor with 2 dimension/],
    ['softmax axis', () => mg.softmax(a, 3), /softmax: axis 3 is out of range for a tensor with 2 dimension/],
    ['logSoftmax axis', () => mg.logSoftmax(a, -3), /logSoftmax: axis -3 is out of range for a tensor with 2 dimension/],
    ['sum repeated axis', () => mg.sum(a, [1, -1]), /sum: axis 1 is repeated/],
    ['permute', () => mg.permute(a, [0, 0]), /permute: perm \[0,0\] repeats an axis/],
    ['slice', () => mg.slice(a, 1, 0, 5), /slice: end 5 is out of range for an axis of length 3/],
    ['concat', () => mg.concat([a, mg.zeros([3, 3])], 1), /concat: tensor 1 has shape \[3,3\], incompatible with \[2,3\] along axis 1/],
    ['stack', () => mg.stack([a, mg.zeros([3, 2])]), /stack: tensor 1 has shape \[3,2\], tensor 0 has \[2,3\]/],
    ['broadcastTo', () => mg.broadcastTo(a, [3, 3]), /broadcastTo: shapes \[2,3\] and \[3,3\] cannot be broadcast together/],
    ['broadcastTo fewer axes', () => mg.broadcastTo(a, [3]), /broadcastTo: cannot broadcast \[2,3\] to \[3\]/],
    ['broadcastTo bad shape', () => mg.broadcastTo(a, [2, -3]), /broadcastTo: invalid shape \[2,-3\]/],
    ['crossEntropy labels', () => mg.crossEntropy(a, [0, 3]), /crossEntropy: index 3 at position 1 is not an integer in \[0, 3\)/],
    ['crossEntropy count', () => mg.crossEntropy(a, [0]), /crossEntropy: 1 labels for 2 rows/],
    ['crossEntropy rank', () => mg.crossEntropy(mg.zeros([3]), [0]), /crossEntropy: logits must be a 2-D tensor/],
    ['mse', () => mg.mse(a, mg.zeros([3, 2])), /mse: pred shape \[2,3\] differs from target shape \[3,2\]/],
    ['gather', () => mg.gather(a, 1, [[0], [1], [2]]), /gather: index shape \[3,1\] must match \[2,3\] on every axis but 1/],
    ['oneHot', () => mg.oneHot([1, 2.5], 3), /oneHot: index 2.5 at position 1 is not an integer/],
    ['pow', () => mg.pow(a, NaN), /pow: the exponent must be a finite number/],
    ['astype', () => mg.astype(a, 'int8' as never), /astype: unknown dtype 'int8'/],
    ['max empty', () => mg.max(mg.zeros([2, 0]), 1), /max: axis 1 of shape \[2,0\] is empty/],
    ['mean of nothing', () => mg.mean(mg.zeros([0])), /mean: reducing \[0\] over axes \[0\] averages over zero elements/],
    ['non-tensor', () => mg.exp(3 as never), /exp: the input must be a Tensor, got number/],
    // keepdims is a flag: an axis given there by a slip would read as true.
    ['keepdims string', () => mg.mean(a, 0, 'yes' as never), /mean: keepdims must be true or false, got "yes"/],
    ['keepdims number', () => mg.sum(a, 0, 1 as never), /sum: keepdims must be true or false, got 1/],
    ['keepdims max', () => mg.max(a, 0, 0 as never), /max: keepdims must be true or false, got 0/],
    // A string or an array where a number goes is shown as one, not as the number it prints as.
    ['scale string', () => mg.scale(a, '2' as never), /scale: the factor must be a finite number, got "2"/],
    ['transpose axes as a list', () => mg.transpose(a, [1, 0] as never), /transpose: axis must be an integer, got \[1, 0\] \(use permute/],
  ])('%s', (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe('computed targets', () => {
  test('a gradient with respect to a computed tensor neither runs nor frees the graph behind it', () => {
    const x = leaf([1, 2]);
    const h = mg.broadcastTo(mg.unsqueeze(x, 0), [3, 2]); // like tiling parameters per task
    const g = mg.grad(mg.sum(mg.square(h)), h); // without createGraph: frees only what it ran
    expect(g.toArray()).toEqual([[2, 4], [2, 4], [2, 4]]);
    expect(h.node!.vjp).not.toBeNull();
    const adapted = mg.sub(h, mg.scale(g, 0.1));
    expect(mg.grad(mg.sum(adapted), x).toArray()).toEqual([3, 3]);
  });
});

describe('targets and recording (each kills mutants the earlier suite let live)', () => {
  test('a computed target that also leads to another target keeps its own gradient', () => {
    // h's node must run (x lies below it), yet h's gradient must survive that.
    const x = leaf([1, 2]);
    const h = mg.scale(x, 3);
    const [gh, gx] = mg.grad(mg.sum(mg.square(h)), [h, x]);
    expect(gh!.toArray()).toEqual([6, 12]);
    expect(gx!.toArray()).toEqual([18, 36]);
  });

  test('backward with createGraph accumulates a .grad on the tape; without, a constant', () => {
    const x = leaf([1, 2]);
    // Twice: the second call sums into the first's .grad, and that sum must be recorded too.
    mg.backward(mg.sum(mg.square(mg.mul(x, x))), { createGraph: true });
    mg.backward(mg.sum(mg.square(mg.mul(x, x))), { createGraph: true });
    expect(x.grad!.requiresGrad).toBe(true);
    expect(mg.grad(mg.sum(x.grad!), x).toArray()).toEqual([24, 96]); // d/dx Σ 2·4x³ = 24x²
    const y = leaf([1, 2]);
    mg.backward(mg.sum(mg.square(y)));
    expect(y.grad!.requiresGrad).toBe(false);
  });

  test('ops taking many inputs do not record under noGrad', () => {
    const x = leaf([1, 2]);
    const c = mg.noGrad(() => mg.concat([x, x]));
    expect(c.requiresGrad).toBe(false);
    expect(c.node).toBeNull();
    expect(mg.concat([x, x]).requiresGrad).toBe(true);
  });

  test('a function given where the outputs go is named, with the fix', () => {
    expect(() => mg.grad((() => 0) as never, [leaf([1])])).toThrow(/use valueAndGrad/);
    expect(() => mg.grad(mg.sum(leaf([1])), [[1] as never])).toThrow(/grad: input 0 is not a Tensor/);
  });
});

describe('astype', () => {
  // Finite differences through float32 are meaningless, so closed forms: with y = float64(float32(x)),
  // f = Σ w·y³ has ∇f = float64(float32(3w·y²)) and H·v = float64(float32(6w·y·float32(v))).
  test('first and second derivatives pass through the casts (closed forms)', () => {
    const x = leaf([0.3, -1.7, 2.2]);
    const w = mg.tensor([1.5, -0.5, 2], f64);
    const v = mg.tensor([0.7, 1.1, -0.4], f64);
    const f = ([z]: mg.Tensor[]) => mg.sum(mg.mul(w, mg.pow(mg.astype(mg.astype(z!, 'float32'), 'float64'), 3)));
    const y = Float64Array.from(Float32Array.from(x.data));
    const v32 = Float64Array.from(Float32Array.from(v.data));
    const g = mg.valueAndGrad(f)([x])[1][0]!;
    expect(g.dtype).toBe('float64');
    expect(Array.from(g.data)).toEqual(Array.from(Float32Array.from(y, (yi, i) => 3 * w.data[i]! * yi * yi)));
    const hv = mg.hvp(f, [x], [v])[0]!;
    expect(Array.from(hv.data)).toEqual(Array.from(Float32Array.from(y, (yi, i) => 6 * w.data[i]! * yi * v32[i]!)));
  });
});

describe('every op names a non-tensor input', () => {
  // What each op needs besides its tensor input; the input is then replaced by a plain array.
  const rest: Record<string, unknown[]> = {
    scale: [2], pow: [2], leakyRelu: [], neg: [], square: [], sqrt: [], exp: [], log: [], abs: [], sign: [], sin: [], cos: [], tanh: [], sigmoid: [], softplus: [], relu: [],
    reshape: [[1]], unsqueeze: [0], squeeze: [0], permute: [[0]], transpose: [0, 1], broadcastTo: [[1]], sumTo: [[1]], slice: [0, 0, 1], pad: [0, 1, 1], index: [0, 0], flatten: [], astype: ['float64'],
    crossEntropy: [[0]], mse: [mg.ones([1])], sum: [], mean: [], max: [0], min: [0], logsumexp: [0], where: [mg.ones([1]), mg.ones([1])], gather: [0, [0]], scatterAdd: [0, [0], [1]],
    logSoftmax: [0], softmax: [0], conv2d: [mg.ones([1, 1, 1, 1])], maxPool2d: [], batchNorm: [mg.ones([1]), mg.ones([1])], batchMoments: [], matmul: [mg.ones([1, 1])],
  };
  test.each(Object.keys(rest))('%s', (name) => {
    const op = (mg as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    expect(() => op([1], ...rest[name]!)).toThrow(new RegExp(`^${name}: `));
  });
});

describe('a batch broadcast is read through its source (task-tiled parameters)', () => {
  // f(W̃) for a weight tiled over 3 tasks, W̃ = broadcastTo(W): the products read W for every
  // task and keep no tiled copy, yet every order of gradient with respect to W̃ must be what a
  // leaf holding the same copies gets, bit for bit.
  const rng = new mg.Rng(11);
  // x requires gradients too, so the products keep the weight's value for x's gradient.
  const x = mg.randn([3, 4, 5], { ...f64, rng, requiresGrad: true });
  const c1 = mg.randn([3, 5, 5], { ...f64, rng }), c2 = mg.randn([3, 5, 5], { ...f64, rng });
  const uses = {
    'x·W̃': (w: mg.Tensor) => mg.matmul(x, w),
    'x·W̃ᵀ': (w: mg.Tensor) => mg.matmul(x, w, false, true),
    'W̃·xᵀ (left)': (w: mg.Tensor) => mg.matmul(w, x, false, true),
    'W̃ᵀ·xᵀ (left, transposed)': (w: mg.Tensor) => mg.matmul(w, x, true, true),
  };
  const shapeOf = { 'x·W̃': [5, 5], 'x·W̃ᵀ': [5, 5], 'W̃·xᵀ (left)': [5, 5], 'W̃ᵀ·xᵀ (left, transposed)': [5, 5] };
  /** g₁ = ∇f, g₂ = ∇⟨g₁, c₁⟩, g₃ = ∇⟨g₂, c₂⟩, all with respect to the tiled weight. */
  const three = (use: (w: mg.Tensor) => mg.Tensor, w: mg.Tensor) => {
    const g1 = mg.grad(mg.sum(mg.square(mg.tanh(use(w)))), w, { createGraph: true });
    const g2 = mg.grad(mg.sum(mg.mul(g1, c1)), w, { createGraph: true });
    const g3 = mg.grad(mg.sum(mg.mul(g2, c2)), w);
    return [g1, g2, g3].map((g) => Array.from(g.data));
  };
  test.each(Object.keys(uses))('%s: gradients to third order equal a leaf copy\'s, bit for bit', (name) => {
    const use = uses[name as keyof typeof uses];
    const W = mg.randn(shapeOf[name as keyof typeof shapeOf], { ...f64, rng, requiresGrad: true });
    const tiled = mg.broadcastTo(mg.unsqueeze(W, 0), [3, 5, 5]);
    const out = use(tiled);
    // The product kept W's [1,5,5] view, not the [3,5,5] copy.
    expect(out.node!.values.some((v) => v !== null && v.size === 25)).toBe(true);
    expect(out.node!.values.some((v) => v === tiled)).toBe(false);
    const copy = new mg.Tensor(tiled.data.slice(), tiled.shape, true);
    expect(three(use, tiled)).toEqual(three(use, copy));
    // And through the source: the gradient with respect to W is the rows' sum.
    const gW = mg.grad(mg.sum(mg.square(mg.tanh(use(mg.broadcastTo(mg.unsqueeze(W, 0), [3, 5, 5]))))), W);
    const rows = mg.grad(mg.sum(mg.square(mg.tanh(use(copy)))), copy);
    expect(Array.from(gW.data)).toEqual(Array.from(mg.sum(rows, 0).data));
  });

  test('an upstream gradient that is itself a batch broadcast (the rule of a mean over tasks) gives a shared weight its gradient', () => {
    const W = mg.randn([5, 5], { ...f64, rng, requiresGrad: true });
    const c = mg.randn([4, 5], { ...f64, rng, requiresGrad: true }); // so the gradient flowing back is on the tape
    const f = () => mg.sum(mg.mul(mg.mean(mg.matmul(x, W), 0), c));
    const taped = mg.grad(f(), W, { createGraph: true }); // the mean's rule broadcasts c's rows
    const plain = mg.grad(f(), W);
    Array.from(plain.data).forEach((v, i) => expect(taped.data[i]).toBeCloseTo(v, 12));
  });

  test('broadcasting to the same shape gives the tensor itself', () => {
    const t = mg.randn([2, 3], { rng, requiresGrad: true });
    expect(mg.broadcastTo(t, [2, 3])).toBe(t);
  });

  test('only a broadcast that repeats whole matrices is read through its source; other recorded values never are', () => {
    const copyOf = (t: mg.Tensor) => new mg.Tensor(t.data.slice(), t.shape, true);
    const product = (w: mg.Tensor) => mg.matmul(x, w); // x [3,4,5]
    const cases: [string, mg.Tensor, boolean][] = [
      ['[5,5] → [3,5,5]: a 2-D source', mg.broadcastTo(mg.randn([5, 5], { ...f64, rng, requiresGrad: true }), [3, 5, 5]), true],
      ['[1,5] → [5,5]: a row repeated', mg.broadcastTo(mg.randn([1, 5], { ...f64, rng, requiresGrad: true }), [5, 5]), false],
      ['[5,1] → [3,5,5]: a column repeated', mg.broadcastTo(mg.randn([5, 1], { ...f64, rng, requiresGrad: true }), [3, 5, 5]), false],
      ['[1,1,5] → [3,5,5]', mg.broadcastTo(mg.randn([1, 1, 5], { ...f64, rng, requiresGrad: true }), [3, 5, 5]), false],
      // where saves its condition (a Tensor) for its tangent rule: not a source.
      ['where', mg.where(mg.greater(mg.randn([3, 5, 5], { ...f64, rng }), 0), mg.randn([3, 5, 5], { ...f64, rng, requiresGrad: true }), 0), false],
    ];
    for (const [name, w, viaSource] of cases) {
      const out = product(w);
      expect(out.node!.values[1] !== w, name).toBe(viaSource);
      const copy = copyOf(w);
      expect(Array.from(out.data), name).toEqual(Array.from(product(copy).data));
      expect(three((v) => mg.matmul(x, v), w), name).toEqual(three((v) => mg.matmul(x, v), copy));
    }
  });

  test('forward mode carries the tangent through the source (jvp and hvp against a leaf copy)', () => {
    const W = mg.randn([5, 5], { ...f64, rng });
    const v = mg.randn([5, 5], { ...f64, rng });
    const viaSource = ([w]: mg.Tensor[]) => mg.sum(mg.square(mg.tanh(mg.matmul(x, mg.broadcastTo(mg.unsqueeze(w!, 0), [3, 5, 5])))));
    const tile = (t: mg.Tensor) => new mg.Tensor(mg.broadcastTo(mg.unsqueeze(t, 0), [3, 5, 5]).data.slice(), [3, 5, 5]);
    const onCopy = ([w]: mg.Tensor[]) => mg.sum(mg.square(mg.tanh(mg.matmul(x, w!))));
    const [, t1] = mg.jvp(viaSource, [W], [v]);
    const [, t2] = mg.jvp(onCopy, [tile(W)], [tile(v)]);
    expect(t1.item()).toBe(t2.item());
    const h1 = mg.hvp(viaSource, [W], [v])[0]!;
    const h2 = mg.hvp(onCopy, [tile(W)], [tile(v)])[0]!;
    expect(Array.from(h1.data)).toEqual(Array.from(mg.sum(h2, 0).data));
  });
});
