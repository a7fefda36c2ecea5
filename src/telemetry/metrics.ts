/**
 * Health figures for `<base>/metrics` and `/metrics`: CPU load, memory, temperatures,
 * GPU use where the platform exposes it (Jetson: the GPU load in sysfs; NVIDIA cards:
 * nvidia-smi through systeminformation; Intel iGPU: not exposed, null), free space of
 * the recordings, export and data volumes, uptime. systeminformation does the sampling.
 */
import { existsSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import si from 'systeminformation';
import type { DiskFigures, MetricsPayload } from './topics.js';

const JETSON_GPU_LOAD = ['/sys/devices/gpu.0/load', '/sys/devices/platform/gpu.0/load', '/sys/devices/platform/17000000.gpu/load'];

export interface Volumes {
  recordings: string;
  exports: string;
  data: string;
}

/** Free space of the volume holding `path` (its nearest existing folder: an export area not made yet is on its parent's volume). */
export async function diskFigures(path: string): Promise<DiskFigures> {
  try {
    let at = path;
    while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
    const s = await statfs(at);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    return { path, freeBytes: free, totalBytes: total, freePercent: total > 0 ? Math.round((free / total) * 10_000) / 100 : null };
  } catch {
    return { path, freeBytes: null, totalBytes: null, freePercent: null };
  }
}

function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > -273 ? Math.round(v * 10) / 10 : null);

export class HealthSampler {
  private last: { at: number; sample: MetricsPayload } | null = null;
  private pending: Promise<MetricsPayload> | null = null;
  private gpuSource: 'jetson' | 'nvidia-smi' | null | undefined;
  private jetsonFile: string | undefined;

  constructor(
    private readonly volumes: Volumes,
    private readonly startedAt: Date,
  ) {}

  /** A fresh sample (concurrent callers share one). */
  sample(): Promise<MetricsPayload> {
    this.pending ??= this.take().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** The last sample if younger than `maxAgeMs`, else a fresh one. */
  async latest(maxAgeMs: number): Promise<MetricsPayload> {
    if (this.last && Date.now() - this.last.at < maxAgeMs) return this.last.sample;
    return this.sample();
  }

  private async take(): Promise<MetricsPayload> {
    const [load, mem, temp, gpu, recordings, exports, data] = await Promise.all([
      si.currentLoad().catch(() => null),
      si.mem().catch(() => null),
      si.cpuTemperature().catch(() => null),
      this.gpu(),
      diskFigures(this.volumes.recordings),
      diskFigures(this.volumes.exports),
      diskFigures(this.volumes.data),
    ]);
    const sample: MetricsPayload = {
      at: new Date().toISOString(),
      uptimeSeconds: { system: Math.max(0, Number(si.time().uptime) || 0), service: Math.max(0, Math.round((Date.now() - this.startedAt.getTime()) / 1000)) },
      cpu: { loadPercent: load ? Math.round(load.currentLoad * 10) / 10 : null, load1: Math.round((loadavg()[0] ?? 0) * 100) / 100, cores: availableParallelism() },
      memory: mem
        ? { totalBytes: mem.total, usedBytes: Math.max(0, mem.total - mem.available), availableBytes: mem.available }
        : { totalBytes: 0, usedBytes: 0, availableBytes: 0 },
      temperatures: { cpu: num(temp?.main), max: num(temp?.max), gpu: gpu.temperature },
      gpu: { utilizationPercent: gpu.utilization, source: gpu.utilization === null ? null : gpu.source },
      disks: { recordings, exports, data },
    };
    this.last = { at: Date.now(), sample };
    return sample;
  }

  private async gpu(): Promise<{ utilization: number | null; temperature: number | null; source: 'jetson' | 'nvidia-smi' | null }> {
    if (this.gpuSource === undefined) {
      this.jetsonFile = JETSON_GPU_LOAD.find((f) => existsSync(f));
      this.gpuSource = this.jetsonFile ? 'jetson' : onPath('nvidia-smi') ? 'nvidia-smi' : null;
    }
    try {
      if (this.gpuSource === 'jetson') {
        // Per mille of the GPU's busy time.
        const v = Number(readFileSync(this.jetsonFile!, 'utf8').trim());
        return { utilization: Number.isFinite(v) ? Math.min(100, v / 10) : null, temperature: null, source: 'jetson' };
      }
      if (this.gpuSource === 'nvidia-smi') {
        const g = await si.graphics();
        const c = g.controllers.find((x) => typeof x.utilizationGpu === 'number');
        return { utilization: num(c?.utilizationGpu), temperature: num(c?.temperatureGpu), source: 'nvidia-smi' };
      }
    } catch {
      // a sensor that fails once is reported as unknown, not as an error
    }
    return { utilization: null, temperature: null, source: null };
  }
}
