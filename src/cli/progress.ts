/**
 * A progress bar on stderr: `[#####.....] 50% 500/1000 loss 0.42 ETA 12s`. On a terminal it
 * redraws one line; elsewhere (CI logs) it prints a line every 10%.
 */
export class ProgressBar {
  private readonly start = Date.now();
  private lastDecile = -1;
  private readonly tty: boolean;

  constructor(
    readonly total: number,
    readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  update(done: number, info: string): void {
    const frac = Math.min(1, done / this.total);
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${this.total} ${info} ETA ${eta.toFixed(0)}s`;
    if (this.tty) {
      this.out.write(`\r${line}\x1b[K`);
      if (done >= this.total) this.out.write('\n');
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.lastDecile) {
        this.lastDecile = decile;
        this.out.write(`${line}\n`);
      }
    }
  }
}
