/** What a listener hears about once a second: the step, frames done of total, speed. */
export type ProgressListener = (p: { step: string; done: number; total: number; fps: number; etaSeconds: number }) => void;

/** Progress lines on stderr for long work (percent, frames per second, time left) and to a listener. */
export class Progress {
  private readonly started = Date.now();
  private last = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly listener?: ProgressListener,
  ) {}

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if ((!this.enabled && !this.listener) || now - this.last < 1000) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const fps = this.done / Math.max(secs, 1e-3);
    const left = fps > 0 ? Math.max(0, this.total - this.done) / fps : 0;
    const pct = this.total > 0 ? Math.min(100, (100 * this.done) / this.total) : 0;
    if (this.enabled) process.stderr.write(`${this.label}: ${pct.toFixed(0)}%  ${fps.toFixed(1)} fps  ETA ${Math.ceil(left)} s\n`);
    this.listener?.({ step: this.label, done: this.done, total: this.total, fps, etaSeconds: Math.ceil(left) });
  }

  fps(): number {
    return this.done / Math.max((Date.now() - this.started) / 1000, 1e-3);
  }
}
