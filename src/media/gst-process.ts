/**
 * Runs one GStreamer pipeline in a child process (native/gst-run) and supervises it:
 * frames in and out with their timestamps, a stall watchdog, and one clear error when
 * the pipeline fails, crashes or hangs. Nothing here can take the daemon down: every
 * failure ends as a rejected promise or a thrown VeilportError in the caller's job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VeilportError } from '../util/errors.js';
import { RecordParser, encodeCapsRecord, encodeBufferHeader, type MediaRecord } from './records.js';

/** Path of the native runner; VEILPORT_GST_RUN overrides it (tests, packaged installs). */
export function gstRunPath(): string {
  const override = process.env['VEILPORT_GST_RUN'];
  if (override) return override;
  // src/media or dist/media -> <repo>/build/gst-run
  const p = fileURLToPath(new URL('../../build/gst-run', import.meta.url));
  if (!existsSync(p)) {
    throw new VeilportError('PIPELINE_FAILED', `GStreamer runner not built: ${p} is missing; run "npm run build:native"`);
  }
  return p;
}

export interface RunOptions {
  /** Seek to this position (ns into the media) before running. */
  startNs?: number;
  /** Stop at this position (ns into the media). */
  stopNs?: number;
  /** Fail the pipeline when it produces nothing for this long (default 30 s). */
  stallMs?: number;
  /** What the pipeline is for, used in error messages ("decode cam1/10-00-00.mp4"). */
  label: string;
  signal?: AbortSignal;
}

/** Collects stderr and turns an exit into one error line a person can act on. */
class Supervisor {
  private stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess, readonly label: string) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      // Bounded: a chatty plugin must not grow memory without limit.
      this.stderr = (this.stderr + s).slice(-16384);
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: -1, signal: null }));
    });
  }

  /** The GStreamer message, or the crash signal, as one line. */
  failure(code: number | null, signal: NodeJS.Signals | null): VeilportError {
    const line = this.stderr.split('\n').find((l) => l.startsWith('gst-run: error: '));
    const reason = line
      ? line.slice('gst-run: error: '.length)
      : signal
        ? `GStreamer process crashed (${signal})`
        : `GStreamer process exited with status ${code}`;
    return new VeilportError('PIPELINE_FAILED', `${this.label}: ${reason}`, { exitCode: code, signal, stderr: this.stderr.slice(-2000) });
  }
}

/** Process ids of the pipelines running now (for memory accounting). */
export const livePipelines = new Set<number>();

function spawnRunner(pipeline: string, opts: RunOptions, stdin: 'pipe' | 'ignore'): ChildProcess {
  const args: string[] = [];
  if (opts.startNs !== undefined) args.push('--start', String(Math.max(0, Math.round(opts.startNs))));
  if (opts.stopNs !== undefined) args.push('--stop', String(Math.round(opts.stopNs)));
  // gst-run parses the description with gst_parse_launchv; passing it whole keeps
  // quoting exactly as written in the profile.
  args.push(pipeline);
  const child = spawn(gstRunPath(), args, { stdio: [stdin, 'pipe', 'pipe'] });
  if (child.pid !== undefined) {
    const pid = child.pid;
    livePipelines.add(pid);
    child.on('close', () => livePipelines.delete(pid));
  }
  return child;
}

/** A timer that fires unless poked; the watchdog of a pipeline. */
function watchdog(ms: number, onStall: () => void): { poke(): void; stop(): void } {
  let timer = setTimeout(onStall, ms);
  return {
    poke() {
      clearTimeout(timer);
      timer = setTimeout(onStall, ms);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

/**
 * Runs a pipeline that ends in `appsink name=out` and yields its records (caps, then
 * buffers with timestamps). Breaking out of the loop kills the process.
 */
export async function* readRecords(pipeline: string, opts: RunOptions): AsyncGenerator<MediaRecord> {
  const child = spawnRunner(pipeline, opts, 'ignore');
  const sup = new Supervisor(child, opts.label);
  let stalled = false;
  const stallMs = opts.stallMs ?? 30_000;
  const dog = watchdog(stallMs, () => {
    stalled = true;
    child.kill('SIGKILL');
  });
  const onAbort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const parser = new RecordParser();
  try {
    for await (const chunk of child.stdout!) {
      dog.poke();
      parser.push(chunk as Buffer);
      for (let r = parser.next(); r; r = parser.next()) {
        // Time the consumer spends on a frame (a slow analysis scan) is not the
        // pipeline stalling: the watchdog only counts time spent waiting for it.
        dog.stop();
        yield r;
        dog.poke();
      }
    }
    const { code, signal } = await sup.exited;
    if (stalled) throw new VeilportError('PIPELINE_STALLED', `${opts.label}: no output for ${stallMs / 1000} s; the pipeline was stopped`);
    if (opts.signal?.aborted) throw new VeilportError('PIPELINE_FAILED', `${opts.label}: cancelled`);
    if (code !== 0) throw sup.failure(code, signal);
    if (parser.pendingBytes() > 0) {
      throw new VeilportError('PIPELINE_FAILED', `${opts.label}: output ended inside a frame (${parser.pendingBytes()} bytes left)`);
    }
  } finally {
    dog.stop();
    opts.signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** A running pipeline that starts with `appsrc name=in` and writes bytes to stdout. */
export interface Encoder {
  /** Sets the caps of the frames that follow (once, before the first frame). */
  setCaps(caps: string): Promise<void>;
  /** Queues one frame; resolves when the pipe can take more (backpressure). */
  writeFrame(ptsNs: number, durationNs: number, data: Uint8Array): Promise<void>;
  /** Ends the input; the output then ends when the pipeline reaches EOS. */
  end(): void;
  /** Kills the pipeline; its output iterator then throws. */
  abort(reason: string): void;
  /** The encoded bytes, as they come; throws when the pipeline fails. */
  output: AsyncIterable<Uint8Array>;
}

export function startEncoder(pipeline: string, opts: RunOptions): Encoder {
  const child = spawnRunner(pipeline, opts, 'pipe');
  const sup = new Supervisor(child, opts.label);
  const stdin = child.stdin!;
  let aborted: string | undefined;
  let stalled = false;
  const stallMs = opts.stallMs ?? 30_000;
  // The encoder may legitimately buffer many frames before its first output (lookahead),
  // so the watchdog watches progress in either direction.
  const dog = watchdog(stallMs, () => {
    stalled = true;
    child.kill('SIGKILL');
  });
  // A closed pipe while writing shows up as EPIPE; the exit status tells the real reason.
  stdin.on('error', () => undefined);

  // When the process is gone, the reason is in its exit status and stderr, not in EPIPE.
  const exitedError = async (): Promise<VeilportError> => {
    const { code, signal } = await sup.exited;
    if (aborted) return new VeilportError('PIPELINE_FAILED', `${opts.label}: ${aborted}`);
    if (stalled) return new VeilportError('PIPELINE_STALLED', `${opts.label}: no progress for ${stallMs / 1000} s; the pipeline was stopped`);
    return code === 0 ? new VeilportError('PIPELINE_FAILED', `${opts.label}: the encoder ended before its input did`) : sup.failure(code, signal);
  };
  const write = async (buf: Uint8Array): Promise<void> => {
    if (aborted) throw new VeilportError('PIPELINE_FAILED', `${opts.label}: ${aborted}`);
    if (child.exitCode !== null || child.signalCode !== null || stdin.destroyed) throw await exitedError();
    dog.poke();
    if (stdin.write(buf)) return;
    const closed = await new Promise<boolean>((resolve) => {
      const onDrain = () => {
        cleanup();
        resolve(false);
      };
      const onClose = () => {
        cleanup();
        resolve(true);
      };
      const cleanup = () => {
        stdin.off('drain', onDrain);
        child.off('close', onClose);
      };
      stdin.on('drain', onDrain);
      child.on('close', onClose);
    });
    if (closed) throw await exitedError();
  };

  async function* output(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of child.stdout!) {
        dog.poke();
        yield chunk as Buffer;
      }
      const { code, signal } = await sup.exited;
      if (aborted) throw new VeilportError('PIPELINE_FAILED', `${opts.label}: ${aborted}`);
      if (stalled) throw new VeilportError('PIPELINE_STALLED', `${opts.label}: no progress for ${stallMs / 1000} s; the pipeline was stopped`);
      if (code !== 0) throw sup.failure(code, signal);
    } finally {
      dog.stop();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  return {
    setCaps: (caps) => write(encodeCapsRecord(caps)),
    async writeFrame(ptsNs, durationNs, data) {
      await write(encodeBufferHeader(ptsNs, durationNs, data.byteLength));
      await write(data);
    },
    end: () => stdin.end(),
    abort(reason) {
      aborted = reason;
      child.kill('SIGKILL');
    },
    output: output(),
  };
}
