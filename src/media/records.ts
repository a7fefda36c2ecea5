/**
 * The record framing spoken by native/gst-run on stdin/stdout (see its header):
 * 'C' u32 len caps  |  'B' i64 pts_ns, i64 duration_ns, u32 len, payload. Little-endian.
 */
import { VeilportError } from '../util/errors.js';

export type MediaRecord =
  | { kind: 'caps'; caps: string }
  | { kind: 'buffer'; ptsNs: number; durationNs: number; data: Buffer };

/** Largest payload accepted: a 8K I420 frame is 50 MB, so this only stops garbage. */
const MAX_PAYLOAD = 256 * 1024 * 1024;

/** Incremental parser: push chunks as they arrive, take whole records out. */
export class RecordParser {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  pendingBytes(): number {
    return this.length;
  }

  /** The next whole record, or undefined until more bytes arrive. */
  next(): MediaRecord | undefined {
    if (this.length < 1) return undefined;
    const tag = this.peek(1)[0];
    if (tag === 0x43 /* C */) {
      if (this.length < 5) return undefined;
      const len = this.peek(5).readUInt32LE(1);
      if (len > 65536) throw new VeilportError('PIPELINE_FAILED', `malformed caps record (${len} bytes)`);
      if (this.length < 5 + len) return undefined;
      const rec = this.take(5 + len);
      return { kind: 'caps', caps: rec.toString('utf8', 5) };
    }
    if (tag === 0x42 /* B */) {
      if (this.length < 21) return undefined;
      const head = this.peek(21);
      const len = head.readUInt32LE(17);
      if (len > MAX_PAYLOAD) throw new VeilportError('PIPELINE_FAILED', `malformed buffer record (${len} bytes)`);
      if (this.length < 21 + len) return undefined;
      const ptsNs = Number(head.readBigInt64LE(1));
      const durationNs = Number(head.readBigInt64LE(9));
      this.take(21);
      return { kind: 'buffer', ptsNs, durationNs, data: this.take(len) };
    }
    throw new VeilportError('PIPELINE_FAILED', `malformed record tag 0x${(tag ?? 0).toString(16)}`);
  }

  /** The first n bytes without consuming them (n is small: headers only). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  /** Consumes n bytes; one copy at most, none when a chunk holds them all. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }
}

export function encodeCapsRecord(caps: string): Buffer {
  const body = Buffer.from(caps, 'utf8');
  const head = Buffer.allocUnsafe(5);
  head[0] = 0x43;
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

export function encodeBufferHeader(ptsNs: number, durationNs: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(21);
  head[0] = 0x42;
  head.writeBigInt64LE(BigInt(Math.round(ptsNs)), 1);
  head.writeBigInt64LE(BigInt(Math.round(durationNs)), 9);
  head.writeUInt32LE(length, 17);
  return head;
}
