/**
 * `veilport demo`: makes a small recordings tree from real face photos (two segments
 * with a gap between them) and exports a range across both on embedded defaults, so a
 * new installer sees the whole path work: catalog, masking, encoding, sealing.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { composeClip, scene, type MovingObject } from '../../samples/compose.js';
import { faceSprite } from '../../samples/faces.js';
import { exportCommand } from './export.js';
import { verifyCommand } from './verify.js';

const W = 1280;
const H = 720;
const FPS = 15;

async function makeSegment(path: string, seed: number): Promise<void> {
  const objects: MovingObject[] = [];
  const sizes = [28, 40, 64, 96];
  for (const [i, s] of sizes.entries()) {
    objects.push({ sprite: await faceSprite(i + seed * 4, s), from: { x: 100 + i * 280, y: 120 + (i % 2) * 260 }, to: { x: 160 + i * 260, y: 200 + ((i + 1) % 2) * 220 }, label: `face${s}` });
  }
  await composeClip({ out: path, width: W, height: H, fps: FPS, seconds: 10, background: scene(W, H, seed), objects });
}

export async function demoCommand(argv: string[]): Promise<number> {
  const base = join(process.cwd(), 'var', 'demo');
  const day = join(base, 'recordings', 'cam1', '2026-11-25');
  await mkdir(day, { recursive: true });
  const segs = [
    { file: join(day, '01-00-00.mp4'), seed: 0 },
    // Starts 13 s after the first: a 3 s gap, as when a recorder restarts.
    { file: join(day, '01-00-13.mp4'), seed: 1 },
  ];
  for (const s of segs) {
    if (!existsSync(s.file)) {
      process.stderr.write(`demo: making sample footage ${s.file}\n`);
      await makeSegment(s.file, s.seed);
    }
  }
  const passwordFile = join(base, 'password.txt');
  if (!existsSync(passwordFile)) await writeFile(passwordFile, randomBytes(12).toString('base64url') + '\n', { mode: 0o600 });
  const out = join(base, 'demo-export.vpkg');
  const code = await exportCommand([
    '--recordings', join(base, 'recordings'), '--camera', 'cam1',
    '--from', '2026-11-25T01:00:04Z', '--to', '2026-11-25T01:00:20Z',
    '--out', out, '--password-file', passwordFile,
    '--case', 'DEMO-0001', '--purpose', 'demonstration', '--requester-type', 'other',
    '--data', join(base, 'data'), ...argv,
  ]);
  if (code !== 0) return code;
  // The demo's package is signed by the demo box's own key: that is the key to trust.
  const data = join(base, 'data');
  process.stdout.write(`\nthe password is in ${passwordFile}; open the package with:\n  node bin/veilport.js open ${out} --password-file ${passwordFile} --data ${data}\n\n`);
  return verifyCommand([out, '--data', data]);
}
