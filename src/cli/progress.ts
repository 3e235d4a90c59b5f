/**
 * A progress bar on stderr: `[#####.....] 50% 500/1000 loss 0.42 0.21 s/it ETA 1m 45s`. On a
 * terminal it redraws one line; elsewhere (CI logs, background runs) it prints a line every 10%
 * and at least once a minute.
 *
 * Pace and ETA come from the last {@link ProgressBar.window} milliseconds (10 minutes), not from
 * the whole session, so a run that was paused (SIGSTOP) or shared its cores for a while shows
 * its current pace again ten minutes later instead of carrying the pause into its ETA for hours.
 */
export class ProgressBar {
  /** How far back, in milliseconds, the pace is measured. */
  static readonly window = 10 * 60_000;
  /** (time, count) samples at least {@link sampleEvery} ms apart, oldest first; the first is the start. */
  private readonly samples: Array<[number, number]>;
  private static readonly sampleEvery = 5_000;
  private lastDecile = -1;
  private lastPrint = 0;
  private readonly tty: boolean;

  /**
   * @param total - the count at which the work is complete.
   * @param label - printed before the bar.
   * @param startAt - the count already done when the bar starts (a resumed run), so the ETA
   *   is computed from this session's progress only.
   */
  constructor(
    readonly total: number,
    readonly label: string,
    startAt = 0,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
    this.samples = [[Date.now(), startAt]];
  }

  update(done: number, info: string): void {
    const now = Date.now();
    const frac = Math.min(1, done / this.total);
    const samples = this.samples;
    if (now - samples[samples.length - 1][0] >= ProgressBar.sampleEvery) samples.push([now, done]);
    // Keep the newest sample that is at least a window old, and everything after it.
    while (samples.length > 1 && samples[1][0] <= now - ProgressBar.window) samples.shift();
    const [since, doneBefore] = samples[0];
    const doneHere = done - doneBefore;
    const perItem = doneHere > 0 ? (now - since) / 1000 / doneHere : NaN;
    const pace = doneHere > 0 ? ` ${perItem >= 1 || perItem === 0 ? `${perItem.toFixed(2)} s/it` : `${(1 / perItem).toFixed(1)} it/s`}` : '';
    const eta = doneHere > 0 ? perItem * Math.max(0, this.total - done) : done >= this.total ? 0 : NaN;
    const width = 24;
    const filled = Math.round(frac * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${info}${pace} ETA ${formatDuration(eta)}`;
    if (this.tty) {
      this.out.write(`\r${line}\x1b[K`);
      if (done >= this.total) this.out.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.lastDecile || now - this.lastPrint >= 60_000) {
        this.lastDecile = decile;
        this.lastPrint = now;
        this.out.write(`${line}\n`);
      }
    }
  }
}

/** `s` seconds as `12s`, `4m 05s`, `3h 07m` or `2d 05h`: enough precision to plan by. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m ${pad(t % 60)}s`;
  if (t < 86400) return `${Math.floor(t / 3600)}h ${pad(Math.floor((t % 3600) / 60))}m`;
  return `${Math.floor(t / 86400)}d ${pad(Math.floor((t % 86400) / 3600))}h`;
}
