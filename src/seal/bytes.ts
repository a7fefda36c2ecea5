/**
 * Small byte helpers shared by the encoder and the decoder. The cursor records a named
 * region for every field it reads, so the parsed layout of a file can be listed (tests
 * flip a byte in every region; `describePackageLayout` shows it to a person).
 */
import { VeilportError, type ErrorCode } from '../util/errors.js';

export interface Region {
  /** Stable dotted name, e.g. `header.keys.password.salt` or `chunk[3].tag`. */
  name: string;
  offset: number;
  length: number;
}

export function u16be(n: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, n, false);
  return b;
}

export function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

export function u64be(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
}

export function readU16(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at, false);
}

export function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, false);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Reads fields from an in-memory buffer, refusing to read past its end with the given
 * error code, and keeps the regions it read (offsets relative to `base`).
 */
export class Cursor {
  pos = 0;
  readonly regions: Region[] = [];

  constructor(
    private readonly buf: Uint8Array,
    private readonly base: number,
    private readonly code: ErrorCode,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  take(name: string, n: number): Uint8Array {
    if (n < 0 || n > this.remaining) {
      throw new VeilportError(this.code, `package field ${name} runs past the end of its section`, { field: name });
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.regions.push({ name, offset: this.base + this.pos, length: n });
    this.pos += n;
    return out;
  }

  u16(name: string): number {
    return readU16(this.take(name, 2), 0);
  }

  u32(name: string): number {
    return readU32(this.take(name, 4), 0);
  }
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower case, no padding (ids are read aloud and typed). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}
