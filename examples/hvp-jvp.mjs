// Second derivatives and forward mode, checked against finite differences in float64:
//   node examples/hvp-jvp.mjs
import * as mg from 'metagrad';

const rng = new mg.Rng(0);
const x = mg.randn([20, 3], { rng, dtype: 'float64' });
const w = mg.randn([3, 2], { rng, dtype: 'float64' });
const v = mg.randn([3, 2], { rng, dtype: 'float64' });
// A small network's loss as a function of its weights.
const f = ([p]) => mg.mean(mg.square(mg.tanh(mg.matmul(x, p))));

// Hessian-vector product H·v, by reverse over reverse: no Hessian is ever formed.
const [hv] = mg.hvp(f, [w], [v]);
// The same from gradients at w ± εv (central differences).
const eps = 1e-5;
const at = (s) => mg.valueAndGrad(f)([mg.add(w, mg.scale(v, s))])[1][0];
const fd = mg.scale(mg.sub(at(eps), at(-eps)), 1 / (2 * eps));
console.log(`hvp:  max |H·v − finite differences| = ${maxAbs(mg.sub(hv, fd)).toExponential(2)}`);

// Forward mode: the directional derivative of f at w along v, and f itself.
const [value, dir] = mg.jvp(f, [w], [v]);
const fdDir = (f([mg.add(w, mg.scale(v, eps))]).item() - f([mg.sub(w, mg.scale(v, eps))]).item()) / (2 * eps);
console.log(`jvp:  f(w) = ${value.item().toFixed(6)}, ∂f/∂w · v = ${dir.item().toFixed(6)} (finite differences ${fdDir.toFixed(6)})`);

function maxAbs(t) {
  return Math.max(...Array.from(t.data, Math.abs));
}
