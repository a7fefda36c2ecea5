/**
 * Peak resident memory of the whole export: this process plus every pipeline process
 * alive at the moment, sampled from /proc (Linux). The appliance's budget is all of it.
 */
import { readFileSync } from 'node:fs';
import { livePipelines } from '../media/gst-process.js';

function rssKb(pid: number | 'self'): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process ended between listing and reading
  }
}

export class PeakMemory {
  private peakKb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    let kb = rssKb('self');
    for (const pid of livePipelines) kb += rssKb(pid);
    this.peakKb = Math.max(this.peakKb, kb);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakKb / 1024;
  }
}
