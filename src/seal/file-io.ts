/**
 * File helpers for the sealer and readers: complete writes, exact bounded reads, and the
 * directory fsync that makes a rename durable.
 */
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { VeilportError } from '../util/errors.js';

/** Writes all of `data` at the file's current position, looping over short writes. */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    off += bytesWritten;
  }
}

/**
 * Reads exactly `length` bytes at `position`. Callers bound `length` before calling, so
 * this never allocates more than a checked field allows. A short read means the file
 * ends early: PACKAGE_FORMAT ("truncated").
 */
export async function readExactly(fh: FileHandle, position: number, length: number, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, position + off);
    if (bytesRead === 0) {
      throw new VeilportError('PACKAGE_FORMAT', `package is truncated (${what} ends at byte ${position + off})`, { position: position + off });
    }
    off += bytesRead;
  }
  return buf;
}

/** fsyncs a directory so a rename or link in it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export const dirOf = (file: string): string => path.dirname(path.resolve(file));
