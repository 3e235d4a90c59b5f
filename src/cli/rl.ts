#!/usr/bin/env node
/**
 * Meta-reinforcement learning as in the MAML paper: train a policy with MAML-TRPO, or the
 * "pretrained" baseline with TRPO on all tasks jointly, resumable from a checkpoint; then
 * evaluate: average return after 0–3 policy-gradient steps on new tasks for MAML, pretrained and
 * a random initialisation, as an SVG in the paper's layout, a markdown table with 95% intervals,
 * and (2-D navigation) the paths before and after adaptation.
 *
 *   npm run rl -- [--env nav2d] [--method maml|pretrain] [--iterations N] [--out-dir DIR] [--resume]
 *   npm run rl -- --evaluate [--out-dir DIR]
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as mg from '../index.js';
import type { Tensor } from '../index.js';
import { loadSafetensors, lockFile, saveSafetensors, writeFileAtomicSync } from '../io/node.js';
import { plotSvg } from '../io/svg.js';
import { intOption } from './args.js';
import { ProgressBar } from './progress.js';

const USAGE = `usage: metagrad rl [flags]   (in the repository: npm run rl -- [flags])

Meta-reinforcement learning as in the MAML paper (2-D navigation): trains a Gaussian MLP policy
(2 hidden layers of 100 ReLU) with MAML-TRPO, or the pretrained baseline with TRPO on all tasks
jointly; --evaluate then compares MAML, pretrained and a random initialisation after 0–3
policy-gradient steps on new tasks.

  --env nav2d|cheetah-vel|cheetah-dir
                           the tasks (default nav2d; the locomotion ones need npm install mujoco-js)
  --method maml|pretrain   what to train (default maml)
  --iterations N           meta-iterations (default 100 for nav2d, 500 for locomotion)
  --meta-batch N           tasks per meta-iteration (default 20 for nav2d, 40 for locomotion)
  --episodes N             episodes per task and policy-gradient estimate (default 20)
  --horizon N              steps per episode (default 100 for nav2d, 200 for locomotion)
  --inner-lr X             the inner policy-gradient step size (default 0.5 for nav2d, 0.1 for locomotion)
  --max-kl X               TRPO's bound on the mean KL (default 0.01)
  --out-dir DIR            checkpoints (METHOD.safetensors), figures (default results/rl-ENV)
  --resume                 continue from the checkpoint in --out-dir
  --evaluate               evaluate the checkpoints in --out-dir instead of training
  --test-tasks N           evaluation: new tasks (default 40)
  --test-episodes N        evaluation: episodes per task and step (default 40)
  --seed N                 the seed of every draw (default 0)
  -h, --help               this text

Ctrl-C (or SIGTERM) stops after the iteration in progress and writes the checkpoint.`;

const METHODS = ['maml', 'pretrain'] as const;
const ENVS = ['nav2d', 'cheetah-vel', 'cheetah-dir'] as const;
type EnvName = (typeof ENVS)[number];
type Method = (typeof METHODS)[number];

function floatOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (value.trim() === '' || !(x > 0) || !Number.isFinite(x)) throw new RangeError(`--${name} must be a positive number, got '${value}'`);
  return x;
}

const paramsOf = (tensors: Record<string, Tensor>): Tensor[] => {
  const out: Tensor[] = [];
  for (let i = 0; `params.${i}` in tensors; i++) out.push(tensors[`params.${i}`]!);
  return out;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      env: { type: 'string', default: 'nav2d' },
      method: { type: 'string', default: 'maml' },
      iterations: { type: 'string' },
      'meta-batch': { type: 'string' },
      episodes: { type: 'string' },
      horizon: { type: 'string' },
      'inner-lr': { type: 'string' },
      'max-kl': { type: 'string' },
      'out-dir': { type: 'string' },
      resume: { type: 'boolean', default: false },
      evaluate: { type: 'boolean', default: false },
      'test-tasks': { type: 'string' },
      'test-episodes': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const envName = values.env!;
  if (!ENVS.includes(envName as EnvName)) throw new RangeError(`--env must be one of ${ENVS.join(', ')}, got '${envName}'`);
  const method = values.method as Method;
  if (!METHODS.includes(method)) throw new RangeError(`--method must be one of ${METHODS.join(', ')}, got '${values.method}'`);
  const nav = envName === 'nav2d';
  const horizon = intOption('horizon', values.horizon, nav ? 100 : 200);
  const settings: mg.MetaRlSettings = {
    metaBatch: intOption('meta-batch', values['meta-batch'], nav ? 20 : 40),
    episodes: intOption('episodes', values.episodes, 20),
    innerLr: floatOption('inner-lr', values['inner-lr'], nav ? 0.5 : 0.1),
    maxKl: floatOption('max-kl', values['max-kl'], 0.01),
  };
  const iterations = intOption('iterations', values.iterations, nav ? 100 : 500);
  const seed = intOption('seed', values.seed, 0, 0);
  const dir = values['out-dir'] ?? `results/rl-${envName}`;
  const env: mg.Environment<unknown> = nav ? new mg.Navigation2D(horizon) : await mg.PlanarRunner.create(envName === 'cheetah-vel' ? 'velocity' : 'direction', horizon);
  const policy = mg.gaussianMlpPolicy([env.observationSize, 100, 100, env.actionSize]);
  mkdirSync(dir, { recursive: true });

  if (values.evaluate) {
    evaluateAll(env, policy, dir, seed, settings, intOption('test-tasks', values['test-tasks'], 40), intOption('test-episodes', values['test-episodes'], 40));
    return;
  }

  const file = join(dir, `${method}.safetensors`);
  if (existsSync(file) && !values.resume) throw new Error(`${file} already exists: continue with --resume, or choose another --out-dir`);
  if (!existsSync(file) && values.resume) throw new Error(`${file} does not exist: there is nothing to resume (leave out --resume to start)`);
  const unlock = lockFile(file);
  try {
    const rng = new mg.Rng(seed);
    let params = policy.init({ rng });
    let iteration = 0;
    const about = JSON.stringify({ env: env.name, method, horizon, seed, ...settings });
    if (values.resume) {
      const saved = loadSafetensors(file);
      const run = JSON.parse(saved.metadata.run ?? '{}') as { about?: string; iteration?: number; rng?: number[] };
      if (run.about !== about) throw new Error(`${file} was trained with other settings (${run.about}); give the same flags, or another --out-dir`);
      params = paramsOf(saved.tensors);
      iteration = run.iteration!;
      rng.setState(run.rng!);
    }
    console.error(`metagrad rl: ${method} on ${env.name}, ${iterations} iterations, meta-batch ${settings.metaBatch}, ${settings.episodes} episodes of ${horizon} steps, seed ${seed}, kernels: ${mg.backendInfo().variant}`);
    const save = (): void => {
      const tensors = Object.fromEntries(params.map((p, i) => [`params.${i}`, p]));
      saveSafetensors(file, tensors, { run: JSON.stringify({ about, iteration, rng: rng.getState() }) });
    };
    let stop: NodeJS.Signals | null = null;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stop !== null) process.exit(128 + os.constants.signals[sig]);
      stop = sig;
    };
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
    const bar = new ProgressBar(iterations, method, iteration);
    const step = method === 'maml' ? mg.mamlTrpoStep : mg.pretrainTrpoStep;
    const ended = await mg.trainLoop({
      iterations,
      iteration: () => iteration,
      step: () => {
        const r = mg.tidy(() => step(env, policy, params, rng, settings));
        params = r.params;
        iteration++;
        const post = r.postReturn === undefined ? '' : `, after one step ${r.postReturn.toFixed(2)}`;
        console.log(`iteration ${iteration}: return ${r.preReturn.toFixed(2)}${post}; KL ${r.trpo.kl.toFixed(4)}, ${r.trpo.accepted ? `${r.trpo.backtracks} backtracks` : 'no step'}`);
        bar.update(iteration, `return ${r.preReturn.toFixed(1)}${r.postReturn === undefined ? '' : ` → ${r.postReturn.toFixed(1)}`}`);
        return -(r.postReturn ?? r.preReturn);
      },
      checkpointEvery: 10,
      checkpoint: save,
      shouldStop: () => stop !== null,
    });
    if (ended === 'stopped') {
      console.error(`\n${stop}: stopped at iteration ${iteration}; checkpoint written to ${file}, continue with --resume`);
      process.exitCode = 128 + os.constants.signals[stop!];
      return;
    }
    console.error(`\nwrote ${file}`);
  } finally {
    unlock();
  }
}

const COLORS: Record<string, string> = { MAML: '#d62728', pretrained: '#1f77b4', random: '#7f7f7f' };
const TITLES: Record<string, string> = { nav2d: '2-D navigation', 'cheetah-vel': 'running at a goal velocity', 'cheetah-dir': 'running in a goal direction' };

/** Adaptation curves of the trained policies and a random one on the same new tasks, as SVGs and markdown. */
function evaluateAll(env: mg.Environment<unknown>, policy: mg.GaussianPolicy, dir: string, seed: number, settings: mg.MetaRlSettings, testTasks: number, testEpisodes: number): void {
  const candidates: [string, Tensor[]][] = [];
  for (const [label, name] of [['MAML', 'maml'], ['pretrained', 'pretrain']] as const) {
    const file = join(dir, `${name}.safetensors`);
    if (!existsSync(file)) continue;
    const saved = loadSafetensors(file);
    const trained = (JSON.parse(JSON.parse(saved.metadata.run ?? '{}').about ?? '{}') as { env?: string }).env;
    if (trained !== env.name) throw new Error(`${file} holds a policy trained on ${trained ?? 'unknown tasks'}, not ${env.name}: give --env ${trained}`);
    candidates.push([label, paramsOf(saved.tensors)]);
  }
  candidates.push(['random', policy.init({ rng: new mg.Rng(seed + 7) })]);
  const tasks = env.sampleTasks(testTasks, new mg.Rng(seed + 1000));
  const steps = 3;
  const rows: string[] = [];
  const series: { label: string; x: number[]; y: number[]; color: string }[] = [];
  const paths: { label: string; x: number[]; y: number[]; color: string; dashed?: boolean; style?: 'points' }[] = [];
  for (const [label, params] of candidates) {
    const bar = new ProgressBar(1, `evaluate ${label}`);
    const { returns, rollouts } = mg.tidy(() => mg.adaptationReturns(env, policy, params, tasks, new mg.Rng(seed + 2000), { steps, episodes: testEpisodes, lr: settings.innerLr ?? 0.5 }));
    bar.update(1, '');
    const cis = returns.map((r) => mg.meanCI(r));
    rows.push(`| ${label} | ${cis.map((c) => `${c.mean.toFixed(2)} ± ${c.ci95.toFixed(2)}`).join(' | ')} |`);
    series.push({ label, x: cis.map((_, k) => k), y: cis.map((c) => c.mean), color: COLORS[label]! });
    const goal = env instanceof mg.Navigation2D ? (tasks[0] as mg.NavigationGoal) : null;
    if (goal !== null && (label === 'MAML' || (label === 'pretrained' && !candidates.some(([l]) => l === 'MAML')))) {
      // The first test task's first episode before adaptation and after 3 steps.
      for (const [k, dashed] of [[0, true], [steps, false]] as const) {
        const r = rollouts[k]!;
        const xs: number[] = [0], ys: number[] = [0];
        for (let t = 0; t < r.horizon && r.mask.data[t] === 1; t++) {
          xs.push(r.observations.data[2 * t]! + 0.1 * Math.max(-1, Math.min(1, r.actions.data[2 * t]!)));
          ys.push(r.observations.data[2 * t + 1]! + 0.1 * Math.max(-1, Math.min(1, r.actions.data[2 * t + 1]!)));
        }
        paths.push({ label: k === 0 ? `${label}, before` : `${label}, after ${steps} steps`, x: xs, y: ys, color: k === 0 ? '#1f77b4' : '#d62728', dashed });
      }
      paths.push({ label: 'goal', x: [goal.x], y: [goal.y], color: '#2ca02c', style: 'points' });
    }
  }
  const title = TITLES[env.name] ?? env.name;
  const [returnsSvg, pathsSvg, md] = [`${env.name}-returns.svg`, `${env.name}-paths.svg`, `${env.name}.md`];
  writeFileAtomicSync(join(dir, returnsSvg), plotSvg(series, { title: `${title}: average return against policy-gradient steps on new tasks`, width: 640, height: 400 }));
  if (paths.length > 0) writeFileAtomicSync(join(dir, pathsSvg), plotSvg(paths, { title: 'A new goal: the path before and after adaptation', width: 480, height: 480 }));
  const report = [
    `# MAML paper, ${title}`,
    '',
    `Written by \`npm run rl -- --evaluate\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, kernels: ${mg.backendInfo().variant}).`,
    '',
    `${testTasks} new tasks (seed ${seed + 1000}); at each step ${testEpisodes} episodes per task measure the average return (sum of rewards over an episode of at most ${env.horizon} steps), then one vanilla policy-gradient step adapts the policy (linear feature baseline, γ = 0.99; step size ${settings.innerLr ?? 0.5} for the first step and half that for later ones, as the authors' evaluation script). Mean over tasks ± 95% interval.`,
    '',
    `![returns](${returnsSvg})`,
    '',
    '| initialisation | 0 steps | 1 step | 2 steps | 3 steps |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(paths.length > 0 ? [`![paths](${pathsSvg})`, ''] : []),
  ].join('\n');
  writeFileAtomicSync(join(dir, md), report);
  console.log(rows.join('\n'));
  console.error(`wrote ${[returnsSvg, ...(paths.length > 0 ? [pathsSvg] : []), md].map((f) => join(dir, f)).join(', ')}`);
}

main().catch((e: unknown) => {
  console.error(`metagrad rl: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
