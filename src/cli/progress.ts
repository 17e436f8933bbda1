/**
 * A one-line progress bar on stderr: epoch, step, running loss, throughput and ETA. On a
 * terminal it redraws in place (at most every 100 ms); otherwise (a log file, a test) it prints
 * a plain line at every tenth of the epoch.
 */
export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly interactive: boolean;
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly epoch: number,
    private readonly epochs: number,
    private readonly steps: number,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.stream = stream;
    this.interactive = Boolean(stream.isTTY);
  }

  update(step: number, loss: number, samplesPerSecond: number, secondsLeft: number): void {
    const now = Date.now();
    const done = step === this.steps;
    if (this.interactive) {
      if (!done && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(step, loss, samplesPerSecond, secondsLeft)}\x1b[K${done ? "\n" : ""}`);
      return;
    }
    const decile = Math.floor((10 * step) / this.steps);
    if (decile === this.lastDecile && !done) return;
    this.lastDecile = decile;
    this.stream.write(`${this.line(step, loss, samplesPerSecond, secondsLeft)}\n`);
  }

  private line(step: number, loss: number, samplesPerSecond: number, secondsLeft: number): string {
    const width = 24;
    const filled = Math.round((width * step) / Math.max(1, this.steps));
    const bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled === width ? "=" : ">") : "") + " ".repeat(width - filled);
    return `epoch ${this.epoch}/${this.epochs} [${bar}] step ${step}/${this.steps} loss ${loss.toFixed(4)} ${samplesPerSecond.toFixed(0)} samples/s ETA ${formatDuration(secondsLeft)}`;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
