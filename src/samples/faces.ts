/**
 * Face sprites cut from annotated real photos (src/samples/faces.json; the photos come
 * from a registry package, fetched by scripts/fetch-fixtures.mjs into .cache/fixtures).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeilportError } from '../util/errors.js';
import { cropScale, loadPicture, type Picture } from './compose.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const truth = JSON.parse(readFileSync(join(root, 'src/samples/faces.json'), 'utf8')) as {
  faces: { file: string; x: number; y: number; w: number; h: number }[];
};
const pictures = new Map<string, Promise<Picture>>();

export const FACE_COUNT = truth.faces.length;
export const FIXTURES_DIR = join(root, '.cache/fixtures');

/** Face number i (0-based, wrapping) as a square sprite of size x size pixels. */
export async function faceSprite(i: number, size: number): Promise<Picture> {
  const f = truth.faces[i % truth.faces.length]!;
  const path = join(FIXTURES_DIR, f.file);
  if (!existsSync(path)) throw new VeilportError('NOT_FOUND', `sample photo ${path} is missing; run "node scripts/fetch-fixtures.mjs"`);
  if (!pictures.has(path)) pictures.set(path, loadPicture(path));
  return cropScale(await pictures.get(path)!, f, size, size);
}
