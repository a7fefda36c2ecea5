/**
 * Lists where every field of a package lies, for diagnostics (and for tests that damage
 * each field in turn). Parses structure only: it proves nothing about authenticity.
 */
import { VeilportError } from '../util/errors.js';
import type { Region } from './bytes.js';
import { DIGEST_BYTES, END_MARKER, SIGNATURE_BYTES, TRAILER_BYTES } from './constants.js';
import { StructureParser } from './structure.js';

export type { Region };

/**
 * Field regions of a package held in memory, in file order, covering every byte once.
 * @throws VeilportError PACKAGE_FORMAT when the bytes are not a well-formed package.
 */
export function describePackageLayout(bytes: Uint8Array): Region[] {
  const dataEnd = bytes.length - TRAILER_BYTES;
  if (dataEnd <= 0) throw new VeilportError('PACKAGE_FORMAT', 'too short to be a package');
  const parser = new StructureParser(dataEnd, true);
  parser.feed(bytes.subarray(0, dataEnd));
  parser.finish();
  const err = parser.headerError ?? parser.chunkError;
  if (err) throw err;
  return [
    ...parser.regions,
    { name: 'trailer.digest', offset: dataEnd, length: DIGEST_BYTES },
    { name: 'trailer.signature', offset: dataEnd + DIGEST_BYTES, length: SIGNATURE_BYTES },
    { name: 'trailer.endMarker', offset: dataEnd + DIGEST_BYTES + SIGNATURE_BYTES, length: END_MARKER.length },
  ];
}
