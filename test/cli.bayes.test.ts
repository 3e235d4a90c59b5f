/**
 * The uncertainty CLI end to end on a few iterations, its task families, and the figure's band.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { plotSvg } from '../src/io/svg.js';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'mg-bayes-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'build', 'src', 'cli', 'bayes.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test.each(['platipus', 'bmaml', 'emaml', 'maml'])('npm run bayes --method %s writes its figure and scores', (method) => {
  const svg = join(dir, `${method}.svg`);
  const json = join(dir, `${method}.json`);
  const r = cli(['--method', method, '--iterations', '3', '--eval-tasks', '2', '--particles', '3', '--out', svg, '--json', json]);
  expect(r.err).not.toMatch(/metagrad bayes: (?!\w+ on)/);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/MSE of the mean \d+\.\d{3} {3}NLL -?\d+\.\d{3} {3}coverage 50%: \d+\.\d% {3}90%: \d+\.\d%/);
  const picture = readFileSync(svg, 'utf8');
  expect(picture).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  // The members: three thin lines for the ensembles, one for MAML.
  expect(picture.match(/stroke-width="1"/g)?.length).toBe(method === 'maml' ? 1 : 3);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  expect(report.settings.method).toBe(method);
  expect(report.scores.tasks).toBe(2);
  expect(report.scores.coverage90).toBeGreaterThanOrEqual(report.scores.coverage50);
});

test('bad flags are named before any training', () => {
  expect(cli(['--method', 'vi']).err.trim()).toBe("metagrad bayes: --method must be one of platipus, bmaml, emaml, maml, got 'vi'");
  expect(cli(['--setup', 'cosine']).err.trim()).toBe("metagrad bayes: --setup must be 'ambiguous' or 'bmaml', got 'cosine'");
  expect(cli(['--particles', '0']).err.trim()).toBe("metagrad bayes: --particles must be an integer ≥ 1, got '0'");
  expect(cli(['--out', join(dir, 'x.png')]).err.trim()).toMatch(/--out must name an \.svg file/);
});

describe('noisy regression tasks', () => {
  test('the ambiguous family draws sines and lines in the papers\' ranges, with noise 0.3', () => {
    const tasks = new mg.NoisyRegressionTasks({ rng: new mg.Rng(1), dtype: 'float64', shots: 5 });
    const batch = tasks.sampleBatch(400);
    const kinds = batch.functions.map((f) => f.kind);
    expect(kinds.filter((k) => k === 'line').length).toBeGreaterThan(150);
    expect(kinds.filter((k) => k === 'sine').length).toBeGreaterThan(150);
    for (const f of batch.functions) {
      if (f.kind === 'line') {
        expect(Math.abs(f.slope)).toBeLessThanOrEqual(3);
        expect(Math.abs(f.intercept)).toBeLessThanOrEqual(3);
      } else {
        expect(f.amplitude).toBeGreaterThanOrEqual(0.1);
        expect(f.amplitude).toBeLessThanOrEqual(5);
      }
    }
    expect(new Set(batch.noiseStd)).toEqual(new Set([0.3]));
    // The residuals from the true functions have the noise's spread.
    let ss = 0;
    batch.functions.forEach((f, t) => {
      for (let j = 0; j < 5; j++) ss += (batch.ySupport.data[t * 5 + j]! - mg.evaluateFunction(f, batch.xSupport.data[t * 5 + j]!)) ** 2;
    });
    expect(Math.sqrt(ss / 2000)).toBeCloseTo(0.3, 1);
  });

  test('the BMAML family varies the frequency and scales the noise with the amplitude', () => {
    const batch = new mg.NoisyRegressionTasks({ setup: 'bmaml', rng: new mg.Rng(2), shots: 10 }).sampleBatch(50);
    expect(batch.xSupport.shape).toEqual([50, 10, 1]);
    batch.functions.forEach((f, t) => {
      expect(f.kind).toBe('sine');
      if (f.kind !== 'sine') return;
      expect(f.frequency).toBeGreaterThanOrEqual(0.5);
      expect(f.frequency).toBeLessThanOrEqual(2);
      expect(batch.noiseStd[t]).toBeCloseTo(0.01 * f.amplitude, 12);
    });
    expect(() => new mg.NoisyRegressionTasks({ setup: 'sine' as 'bmaml' })).toThrow(/setup must be 'ambiguous' or 'bmaml'/);
  });
});

test('a band fills the region between its edges, and a band without a lower edge is refused', () => {
  const svg = plotSvg([{ label: 'band', x: [0, 1, 2], y: [1, 2, 1], lower: [0, 0, -1], color: '#00f', style: 'band' }]);
  expect(svg).toMatch(/<path d="M[^"]+ Z" fill="#00f" stroke="none" opacity="0.25"\/>/);
  expect(() => plotSvg([{ label: 'b', x: [0, 1], y: [1, 2], color: '#00f', style: 'band' }])).toThrow(/band 'b' needs a lower edge of 2 values/);
});
