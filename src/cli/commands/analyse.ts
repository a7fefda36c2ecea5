/** `veilport analyse`: pass 1 only; prints the tracks (ids for --unmask) as JSON. */
import { join } from 'node:path';
import { dataDir, footageAndAnalysis, FOOTAGE_OPTIONS, parseArgs } from './footage.js';

const HELP = `usage: veilport analyse --recordings DIR --camera NAME --from ISO --to ISO
       [--mask face,plate,motion] [--profile NAME] [--scan-hz N] [--data DIR]`;

export async function analyseCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: FOOTAGE_OPTIONS, strict: true });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const { r, analysis } = await footageAndAnalysis(values);
  const { stored, fps } = analysis;
  const folder = join(dataDir(values), 'analyses', stored.key);
  const out = {
    ok: true,
    analysis: stored.key,
    camera: r.footage.camera,
    from: r.footage.from.toISOString(),
    to: r.footage.to.toISOString(),
    profile: r.profile.name,
    frames: stored.frameTimesNs.length,
    gaps: r.footage.gaps.map((g) => ({ from: g.from.toISOString(), to: g.to.toISOString() })),
    ...(fps ? { analyseFps: Number(fps.toFixed(1)) } : { cached: true }),
    tracks: stored.tracks.map((t) => ({
      id: t.id,
      target: t.target,
      from: new Date(r.footage.from.getTime() + t.holdFromNs / 1e6).toISOString(),
      to: new Date(r.footage.from.getTime() + t.holdToNs / 1e6).toISOString(),
      detections: t.points.length,
      bestScore: Number(Math.max(...t.points.map((p) => p.score)).toFixed(3)),
      thumbnail: stored.thumbnails[String(t.id)] ? join(folder, stored.thumbnails[String(t.id)]!) : null,
    })),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
}
