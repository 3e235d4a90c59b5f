/**
 * A progress bar on stderr: `[#####.....] 50% 500/1000 loss 0.42 0.21 s/it ETA 1m 45s`. On a
 * terminal it redraws one line; elsewhere (CI logs, background runs) it prints a line every 10%
 * and at least once a minute.
 */
export class ProgressBar {
  private readonly start = Date.now();
  private lastDecile = -1;
  private lastPrint = 0;
  private readonly tty: boolean;

  /**
   * @param total - the count at which the work is complete.
   * @param label - printed before the bar.
   * @param startAt - the count already done when the bar starts (a resumed run), so the ETA
   *   is computed from this session's rate only.
   */
  constructor(
    readonly total: number,
    readonly label: string,
    private readonly startAt = 0,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  update(done: number, info: string): void {
    const frac = Math.min(1, done / this.total);
    const elapsed = (Date.now() - this.start) / 1000;
    const doneHere = done - this.startAt;
    const perItem = doneHere > 0 ? elapsed / doneHere : NaN;
    const pace = doneHere > 0 ? ` ${perItem >= 1 || perItem === 0 ? `${perItem.toFixed(2)} s/it` : `${(1 / perItem).toFixed(1)} it/s`}` : '';
    const eta = doneHere > 0 ? perItem * Math.max(0, this.total - done) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${info}${pace} ETA ${formatDuration(eta)}`;
    if (this.tty) {
      this.out.write(`\r${line}\x1b[K`);
      if (done >= this.total) this.out.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      const now = Date.now();
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
