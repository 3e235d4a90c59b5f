/** The CLI progress bar: its ETA and pace, and when it prints into a log. */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { formatDuration, ProgressBar } from '../src/cli/progress.js';

function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
}

describe('progress bar', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('durations read as seconds, minutes, hours or days', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59.4)).toBe('59s');
    expect(formatDuration(245)).toBe('4m 05s');
    expect(formatDuration(3 * 3600 + 7 * 60 + 30)).toBe('3h 07m');
    expect(formatDuration(2 * 86400 + 5 * 3600)).toBe('2d 05h');
    expect(formatDuration(NaN)).toBe('?');
    expect(formatDuration(-1)).toBe('?');
  });

  test('a resumed run estimates from this session only, and shows its pace', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const { lines, stream } = sink(false);
    const bar = new ProgressBar(100_000, 'run', 10_000, stream);
    vi.setSystemTime(250_000); // 1,000 iterations in 250 s: 0.25 s/it
    bar.update(11_000, 'loss 0.5');
    expect(lines).toHaveLength(1);
    // 89,000 iterations left at 0.25 s: 22,250 s = 6 h 10 min 50 s.
    expect(lines[0]).toBe('run [###.....................]  11% 11000/100000 loss 0.5 4.0 it/s ETA 6h 10m\n');
    vi.setSystemTime(250_000 + 30_000);
    bar.update(11_100, 'loss 0.5'); // same decile, under a minute since the last line: quiet
    expect(lines).toHaveLength(1);
    vi.setSystemTime(250_000 + 61_000);
    bar.update(11_200, 'loss 0.4');
    expect(lines).toHaveLength(2);
    // 1,200 in 311 s: 0.259 s/it, 88,800 left: 23,015 s.
    expect(lines[1]).toBe('run [###.....................]  11% 11200/100000 loss 0.4 3.9 it/s ETA 6h 23m\n');
  });

  test('slow iterations are shown in seconds per iteration; a terminal gets one redrawn line', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const { lines, stream } = sink(true);
    const bar = new ProgressBar(10, 'maml', 0, stream);
    vi.setSystemTime(3_000);
    bar.update(2, 'loss 1.0');
    expect(lines[0]).toBe('\rmaml [#####...................]  20% 2/10 loss 1.0 1.50 s/it ETA 12s\x1b[K');
    vi.setSystemTime(15_000);
    bar.update(10, 'loss 0.1');
    expect(lines.slice(1)).toEqual(['\rmaml [########################] 100% 10/10 loss 0.1 1.50 s/it ETA 0s\x1b[K', '\n']);
  });
  test('pace and ETA follow the last ten minutes, so a pause stops counting once it is that far back', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const { lines, stream } = sink(true); // a terminal redraws on every update
    const bar = new ProgressBar(100_000, 'run', 0, stream);
    let t = 0;
    let done = 0;
    const run = (seconds: number, perSecond: number): void => {
      for (let i = 0; i < seconds; i++) {
        t += 1000;
        done += perSecond;
        vi.setSystemTime(t);
        bar.update(done, 'x');
      }
    };
    run(600, 10); // 10 it/s for ten minutes
    expect(lines.at(-1)).toContain(' 10.0 it/s ETA 2h 36m'); // 94,000 left at 10 it/s
    t += 3_600_000; // paused (SIGSTOP) for an hour: no updates at all
    vi.setSystemTime(t);
    bar.update(done, 'x');
    expect(lines.at(-1)).toContain(' x ETA ?'); // nothing done in the last ten minutes
    run(300, 10);
    // Measured from the last sample at least ten minutes old (before the pause): 3,000 in 3,900 s.
    expect(lines.at(-1)).toContain(' 1.30 s/it ETA 1d 08h');
    run(300, 10); // ten minutes after the pause, the pause has left the window
    expect(lines.at(-1)).toContain(' 10.0 it/s ETA 2h 26m'); // 88,000 left
    // (The whole-session rate would still say 12,000 in 4,800 s: 2.5 it/s, ETA 9h 46m.)
  });

  test('before any progress the ETA is unknown rather than zero', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const { lines, stream } = sink(false);
    const bar = new ProgressBar(100, 'run', 0, stream);
    vi.setSystemTime(10_000);
    bar.update(0, 'x');
    expect(lines[0]).toBe('run [........................]   0% 0/100 x ETA ?\n');
  });
});
