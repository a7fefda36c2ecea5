/**
 * Measures where a segment's frames really start and end by demuxing and parsing the
 * whole file (no decoding) in gst-launch-1.0 and reading every buffer's timestamp.
 * Headers can lie (a truncated MKV keeps its full duration) or be absent (TS, where
 * gst-discoverer only estimates from clock references and says 0 for short files), so the
 * frames themselves are the only trustworthy measure. Times are stream time, the scale
 * the decoder seeks in (native/gst-run), so in- and outpoints line up with decoding.
 */
import { spawn } from 'node:child_process';
import { quoteLocation, type Codec, type Container } from './profiles.js';

export type ScanResult = { ok: true; firstNs: number; endNs: number; frames: number } | { ok: false; reason: string };

const DEMUX: Record<Container, string> = { mp4: 'qtdemux', mkv: 'matroskademux', ts: 'tsdemux' };
const PARSE: Record<Codec, string> = { h264: 'h264parse', h265: 'h265parse' };

const CLOCK = '(\\d+):(\\d{2}):(\\d{2})\\.(\\d{1,9})';
const CHAIN_RE = new RegExp(`last-message = chain.*?pts: (?:none|${CLOCK}), duration: (?:none|${CLOCK})`);

function ns(m: RegExpExecArray, at: number): number | undefined {
  if (m[at] === undefined) return undefined;
  const frac = m[at + 3]!.padEnd(9, '0');
  return ((Number(m[at]) * 60 + Number(m[at + 1])) * 60 + Number(m[at + 2])) * 1e9 + Number(frac);
}

/** Incremental reader of gst-launch -v output; exported for tests. */
export class ScanParser {
  private segStart = 0;
  private segTime = 0;
  firstNs = Infinity;
  endNs = -Infinity;
  frames = 0;

  constructor(private readonly frameNs?: number) {}

  line(line: string): void {
    if (line.includes('type: segment')) {
      const start = /[\s,]start=\(guint64\)(\d+)/.exec(line);
      const time = /[\s,]time=\(guint64\)(\d+)/.exec(line);
      if (start && time) {
        this.segStart = Number(start[1]);
        this.segTime = Number(time[1]);
      }
      return;
    }
    const m = CHAIN_RE.exec(line);
    if (!m) return;
    const pts = ns(m, 1);
    // Frames before the segment start (priming, edit lists) are clipped by every decoder.
    if (pts === undefined || pts < this.segStart) return;
    const t = pts - this.segStart + this.segTime;
    const dur = ns(m, 5) ?? this.frameNs ?? 0;
    this.frames++;
    if (t < this.firstNs) this.firstNs = t;
    if (t + dur > this.endNs) this.endNs = t + dur;
  }
}

/**
 * Reads every frame's timestamp of one file. Never throws: a damaged file, a pipeline
 * error, a hang past `timeoutMs` or a missing gst-launch-1.0 become `{ ok: false, reason }`.
 */
export function scanTimestamps(path: string, container: Container, codec: Codec, timeoutMs: number, framerate?: number): Promise<ScanResult> {
  let location: string;
  try {
    location = quoteLocation(path);
  } catch (e) {
    return Promise.resolve({ ok: false, reason: (e as Error).message });
  }
  const desc = [
    'filesrc', `location=${location}`, '!', DEMUX[container], '!', PARSE[codec], '!',
    // One buffer per frame, whatever the container's packetisation.
    `video/x-${codec},alignment=au`, '!', 'fakesink', 'silent=false', 'sync=false',
  ];
  const parser = new ScanParser(framerate ? 1e9 / framerate : undefined);
  return new Promise((resolve) => {
    let error: string | undefined;
    let settled = false;
    const child = spawn('gst-launch-1.0', ['-v', ...desc], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const finish = (r: ScanResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ ok: false, reason: `reading the frames did not finish within ${Math.round(timeoutMs / 1000)} s` });
    }, timeoutMs);
    const lines = (onLine: (l: string) => void) => {
      let rest = '';
      return (chunk: Buffer) => {
        const text = rest + chunk.toString('utf8');
        const all = text.split('\n');
        rest = all.pop() ?? '';
        // A line without a newline for 1 MB is not gst-launch output worth keeping.
        if (rest.length > 1 << 20) rest = '';
        for (const l of all) onLine(l);
      };
    };
    const onError = (l: string) => {
      const m = /^ERROR: from element \S+: (.+)$/.exec(l) ?? /^ERROR: (.+)$/.exec(l);
      if (m && error === undefined) {
        error = m[1]!.trim();
        // gst-launch can hang after a preroll error; the first error is all we need.
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', lines((l) => {
      parser.line(l);
      onError(l);
    }));
    child.stderr.on('data', lines(onError));
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish({ ok: false, reason: e.code === 'ENOENT' ? 'gst-launch-1.0 is not installed' : `gst-launch-1.0 failed: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      if (error !== undefined) return finish({ ok: false, reason: `cannot be read: ${error}` });
      if (code !== 0) return finish({ ok: false, reason: `reading the frames failed (${signal ?? `exit ${code}`})` });
      if (parser.frames === 0 || !(parser.endNs > parser.firstNs)) return finish({ ok: false, reason: 'no video frames could be read' });
      finish({ ok: true, firstNs: parser.firstNs, endNs: parser.endNs, frames: parser.frames });
    });
  });
}
