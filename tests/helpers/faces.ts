/** Face sprites cut from the annotated registry photos (tests/fixtures/faces.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cropScale, loadPicture, type Picture } from '../../src/samples/compose.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const truth = JSON.parse(readFileSync(join(root, 'tests/fixtures/faces.json'), 'utf8')) as {
  faces: { file: string; x: number; y: number; w: number; h: number }[];
};
const pictures = new Map<string, Promise<Picture>>();

export const FACE_COUNT = truth.faces.length;

/** Face number i (0-based) as a square sprite of size x size pixels. */
export async function faceSprite(i: number, size: number): Promise<Picture> {
  const f = truth.faces[i % truth.faces.length]!;
  const path = join(root, '.cache/fixtures', f.file);
  if (!pictures.has(path)) pictures.set(path, loadPicture(path));
  return cropScale(await pictures.get(path)!, f, size, size);
}
