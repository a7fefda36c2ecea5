/**
 * What the watermark carries and how it is laid out. A tile of 32 x 32 "chips" (each
 * +1 or -1) repeats over the whole frame:
 *
 * - 256 sync chips at fixed pseudo-random positions with fixed pseudo-random values:
 *   known to every detector, they locate the tile after a crop (cyclic offset) and
 *   confirm the tile period found for a rescaled copy;
 * - 768 payload chips: the 128-bit package id and a CRC-32 over it (160 bits),
 *   convolutionally encoded (rate 1/2, K = 7: 332 coded bits), each coded bit repeated
 *   over 2-3 chips spread across the tile, each chip's sign scrambled by a fixed
 *   pseudo-random sequence (so the pattern looks like noise whatever the id).
 *
 * Everything here is public (Kerckhoffs: the design is in the README). Its purpose is
 * traceability of accidental or casual leaks, not secrecy against an informed attacker.
 */
import { convEncode, crc32, fromBits, toBits, viterbiDecode } from './ecc.js';

export const TILE = 32;
export const CHIPS = TILE * TILE;
export const SYNC_CHIPS = 256;
export const ID_BYTES = 16;
const INFO_BITS = (ID_BYTES + 4) * 8;
export const CODED_BITS = 2 * (INFO_BITS + 6);
const DOMAIN = new TextEncoder().encode('veilport/watermark/v1');

/** Deterministic 32-bit generator (mulberry32) for the fixed layout. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface TileLayout {
  /** Chip positions (row * TILE + col) of the sync chips, and their values. */
  syncAt: Int32Array;
  syncValue: Int8Array;
  /** Chip positions of the payload chips, the coded bit each carries, and its scrambling sign. */
  payloadAt: Int32Array;
  codedBit: Int32Array;
  scramble: Int8Array;
}

export const LAYOUT: TileLayout = (() => {
  const r = rng(0x76707731); // "vpw1"
  const order = Int32Array.from({ length: CHIPS }, (_, i) => i);
  for (let i = CHIPS - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const syncAt = order.slice(0, SYNC_CHIPS);
  const payloadAt = order.slice(SYNC_CHIPS);
  const syncValue = Int8Array.from(syncAt, () => (r() < 0.5 ? -1 : 1));
  const scramble = Int8Array.from(payloadAt, () => (r() < 0.5 ? -1 : 1));
  const codedBit = Int32Array.from(payloadAt, (_, k) => k % CODED_BITS);
  return { syncAt, syncValue, payloadAt, codedBit, scramble };
})();

function checksum(id: Uint8Array): Uint8Array {
  const buf = new Uint8Array(DOMAIN.length + id.length);
  buf.set(DOMAIN);
  buf.set(id, DOMAIN.length);
  const c = crc32(buf);
  return Uint8Array.of(c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255);
}

export function idBytes(packageId: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(packageId)) throw new RangeError('package id must be 32 lower-case hex digits');
  return Uint8Array.from(packageId.match(/../g)!, (h) => parseInt(h, 16));
}

/** The tile for a package id: CHIPS values of +1/-1, row-major. */
export function tileFor(packageId: string): Int8Array {
  const id = idBytes(packageId);
  const info = new Uint8Array(ID_BYTES + 4);
  info.set(id);
  info.set(checksum(id), ID_BYTES);
  const coded = convEncode(toBits(info));
  const tile = new Int8Array(CHIPS);
  const L = LAYOUT;
  for (let k = 0; k < SYNC_CHIPS; k++) tile[L.syncAt[k]!] = L.syncValue[k]!;
  for (let k = 0; k < L.payloadAt.length; k++) tile[L.payloadAt[k]!] = (coded[L.codedBit[k]!] ? 1 : -1) * L.scramble[k]!;
  return tile;
}

/** The sync part of every tile (payload chips 0). */
export function syncTile(): Float64Array {
  const t = new Float64Array(CHIPS);
  for (let k = 0; k < SYNC_CHIPS; k++) t[LAYOUT.syncAt[k]!] = LAYOUT.syncValue[k]!;
  return t;
}

export interface PayloadDecode {
  packageId: string | null;
  /** Fraction of coded bits whose hard decision agrees with the re-encoded result (1 = clean). */
  agreement: number;
}

/** Decodes soft chip values (CHIPS, row-major, aligned to the tile) into a package id, or null when the CRC fails. */
export function decodeTile(soft: Float64Array): PayloadDecode {
  const L = LAYOUT;
  const coded = new Float64Array(CODED_BITS);
  for (let k = 0; k < L.payloadAt.length; k++) coded[L.codedBit[k]!] = coded[L.codedBit[k]!]! + soft[L.payloadAt[k]!]! * L.scramble[k]!;
  const info = fromBits(viterbiDecode(coded, INFO_BITS));
  const id = info.subarray(0, ID_BYTES);
  const ok = checksum(id).every((b, i) => b === info[ID_BYTES + i]);
  const again = convEncode(toBits(info));
  let agree = 0;
  for (let i = 0; i < CODED_BITS; i++) if ((coded[i]! > 0 ? 1 : 0) === again[i]) agree++;
  const hex = Array.from(id, (b) => b.toString(16).padStart(2, '0')).join('');
  return { packageId: ok ? hex : null, agreement: agree / CODED_BITS };
}
