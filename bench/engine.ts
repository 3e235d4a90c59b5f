/**
 * Engine overhead: one elementwise op and one matmul on [10,40] (the sine MLP's hidden layer),
 * with and without a tape record, and forward+backward of the sine MLP 1→40→40→1 on a batch of
 * 10. The tape-record figures are what every op costs inside a training step.
 */
import * as mg from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { fmtTime, machineLine, table, time, type Timing } from './harness.js';

export function run(): string {
  const rng = new mg.Rng(1);
  const a = mg.randn([10, 40], { rng });
  const b = mg.randn([10, 40], { rng });
  const w = mg.randn([40, 40], { rng });
  const ag = mg.randn([10, 40], { rng, requiresGrad: true });
  const wg = mg.randn([40, 40], { rng, requiresGrad: true });

  const x = mg.rand([10, 1], { rng, low: -5, high: 5 });
  const y = mg.sin(x);
  const params = [mg.randn([1, 40], { rng }), mg.zeros([40]), mg.randn([40, 40], { rng, std: 0.15 }), mg.zeros([40]), mg.randn([40, 1], { rng, std: 0.15 }), mg.zeros([1])];
  const mlp = (ps: Tensor[]) => {
    const h1 = mg.relu(mg.add(mg.matmul(x, ps[0]!), ps[1]!));
    const h2 = mg.relu(mg.add(mg.matmul(h1, ps[2]!), ps[3]!));
    return mg.mse(mg.add(mg.matmul(h2, ps[4]!), ps[5]!), y);
  };
  const vg = mg.valueAndGrad(mlp);

  let sink = 0;
  const t = time({
    'add [10,40] (no tape)': () => {
      sink += mg.add(a, b).data[0]!;
    },
    'add [10,40] + tape record': () => {
      sink += mg.add(ag, b).data[0]!;
    },
    'relu [10,40] + tape record': () => {
      sink += mg.relu(ag).data[0]!;
    },
    'add bias [10,40] + [40] + tape record': () => {
      sink += mg.add(ag, params[1]!).data[0]!;
    },
    'matmul [10,40]·[40,40] (no tape)': () => {
      sink += mg.matmul(a, w).data[0]!;
    },
    'matmul [10,40]·[40,40] + tape record': () => {
      sink += mg.matmul(ag, wg).data[0]!;
    },
    'sine MLP forward (no tape)': () => {
      sink += mlp(params).data[0]!;
    },
    'sine MLP forward + backward': () => {
      sink += vg(params)[1][0]!.data[0]!;
    },
  });
  if (!Number.isFinite(sink)) throw new Error('benchmark produced a non-finite value');
  const byName = new Map(t.map((r) => [r.name, r]));
  const m = (n: string): Timing => byName.get(n)!;
  return [
    '## Engine overhead',
    '',
    machineLine(),
    '',
    table(
      ['case', 'time per call', '± (95%)'],
      t.map((r) => [r.name, fmtTime(r.mean), `${r.rme.toFixed(1)}%`]),
    ),
    '',
    `Forward+backward / forward of the MLP: ${(m('sine MLP forward + backward').mean / m('sine MLP forward (no tape)').mean).toFixed(2)}×. ` +
      'Output arrays of 65 B to 4 kB are views carved from shared slabs (≈ 0.2 µs for 1.6 kB; a typed array with its own buffer costs ≈ 1–1.2 µs on this V8, which was most of an elementwise op before the slabs); the tape record itself is within the noise.',
    'Goal: an elementwise op on [10,40] including its tape record in ≤ 2 µs.',
  ].join('\n');
}
