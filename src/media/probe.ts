/**
 * Which pipeline profiles this box can run, and why not the others. An element that is
 * registered may still fail (no device node, wrong driver), so every profile whose
 * elements exist also encodes and decodes a few test frames before it is called usable.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { VeilportError } from '../util/errors.js';
import { gstRunPath } from './gst-process.js';
import { elementsOf, loadProfiles, requiredElements, type Profile } from './profiles.js';

const run = promisify(execFile);

export interface ProfileStatus {
  name: string;
  title: string;
  rank: number;
  usable: boolean;
  /** Elements this box does not have. */
  missing: string[];
  /** Why a profile with all elements still failed its test run. */
  failure?: string;
  /** Whether it can decode H.265 too. */
  h265: boolean;
}

export interface ProbeReport {
  profiles: ProfileStatus[];
  /** The best usable profile, if any. */
  best?: string;
}

/** Names of all elements registered with GStreamer on this box. */
export async function availableElements(): Promise<Set<string>> {
  const { stdout } = await run('gst-inspect-1.0', [], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
  const names = new Set<string>();
  // Lines look like "x264:  x264enc: x264 H.264 Encoder".
  for (const line of stdout.split('\n')) {
    const m = /^[^:\s]+:\s+([^:\s]+):/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** Encodes ten test frames with the profile and decodes them again. */
async function smokeTest(p: Profile): Promise<string | undefined> {
  const encode = p.encode.replaceAll('{bitrate_kbps}', '500').replaceAll('{bitrate_bps}', '500000').replaceAll('{gop_frames}', '10');
  const desc = [
    'videotestsrc num-buffers=10',
    'video/x-raw,format=I420,width=320,height=240,framerate=10/1',
    encode,
    'h264parse',
    p.decode.h264!,
    p.toRaw,
    'video/x-raw,format=I420',
    'fakesink',
  ].join(' ! ');
  try {
    await run(gstRunPath(), [desc], { timeout: 30_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: string; killed?: boolean; message: string };
    if (err.killed) return 'test run did not finish within 30 s';
    const line = (err.stderr ?? '').split('\n').find((l) => l.startsWith('gst-run: error: '));
    return line ? line.slice('gst-run: error: '.length) : err.message.split('\n')[0];
  }
}

export async function probeProfiles(profiles = loadProfiles()): Promise<ProbeReport> {
  const have = await availableElements();
  const statuses: ProfileStatus[] = [];
  for (const p of profiles) {
    const missing = requiredElements(p).filter((e) => !have.has(e));
    const h265 = p.decode.h265 !== undefined && elementsOf(p.decode.h265).every((e) => have.has(e)) && have.has('h265parse');
    const status: ProfileStatus = { name: p.name, title: p.title, rank: p.rank, usable: false, missing, h265 };
    if (missing.length === 0) {
      const failure = await smokeTest(p);
      if (failure) status.failure = failure;
      else status.usable = true;
    }
    statuses.push(status);
  }
  const best = statuses.filter((s) => s.usable).sort((a, b) => b.rank - a.rank)[0];
  return best ? { profiles: statuses, best: best.name } : { profiles: statuses };
}

/** The profile to use: the forced one if it can run here, else the best usable one. */
export async function selectProfile(forced?: string, profiles = loadProfiles()): Promise<{ profile: Profile; report: ProbeReport }> {
  if (forced !== undefined && !profiles.some((p) => p.name === forced)) {
    throw new VeilportError('BAD_INPUT', `unknown profile "${forced}"; profiles: ${profiles.map((p) => p.name).join(', ')}`);
  }
  const report = await probeProfiles(forced ? profiles.filter((p) => p.name === forced) : profiles);
  const name = report.best;
  if (!name) {
    const why = report.profiles.map((s) => `${s.name}: ${whyNot(s)}`).join('; ');
    throw new VeilportError('PIPELINE_FAILED', `no usable pipeline profile on this box (${why})`);
  }
  return { profile: profiles.find((p) => p.name === name)!, report };
}

export function whyNot(s: ProfileStatus): string {
  if (s.usable) return 'usable';
  if (s.missing.length) return `missing elements ${s.missing.join(', ')}`;
  return `test run failed: ${s.failure}`;
}
