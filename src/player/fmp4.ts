/**
 * Fragmented MP4 index, built while the clear video streams past once: where the init
 * segment (ftyp + moov) lies, and for every fragment (moof + mdat) its byte range, start
 * and end time and whether (and when) it holds a sync sample. With it the player keeps
 * only a window of the video in the Media Source buffer and can seek anywhere by
 * decrypting just the chunks that hold the fragments it needs.
 */

export interface ByteRange {
  offset: number;
  length: number;
}

export interface Fragment extends ByteRange {
  /** Decode time of the first sample, seconds. */
  start: number;
  /** start + sum of sample durations, seconds. */
  end: number;
  /** Time of the first sync (key) sample in the fragment, seconds; null if none. */
  syncAt: number | null;
}

export interface TrackInfo {
  trackId: number;
  timescale: number;
  /** RFC 6381 codecs parameter, e.g. "avc1.640028". */
  codec: string;
  width: number;
  height: number;
  defaultDuration: number;
  defaultFlags: number;
}

const MAX_META_BOX = 8 * 1024 * 1024;
const NON_SYNC = 0x10000;

export class Mp4FormatError extends Error {}

const fourcc = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u64 = (b: Uint8Array, at: number) => u32(b, at) * 2 ** 32 + u32(b, at + 4);
const hex2 = (n: number) => n.toString(16).padStart(2, '0');

interface Box {
  type: string;
  start: number;
  /** Payload start and end, relative to the buffer. */
  body: number;
  end: number;
}

function* boxes(b: Uint8Array, from: number, to: number): Generator<Box> {
  let at = from;
  while (at + 8 <= to) {
    let size = u32(b, at);
    const type = fourcc(b, at + 4);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) throw new Mp4FormatError('truncated box header');
      size = u64(b, at + 8);
      body = at + 16;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) throw new Mp4FormatError(`box ${type} has a bad size`);
    yield { type, start: at, body, end: at + size };
    at += size;
  }
}

const child = (b: Uint8Array, parent: Box, type: string) => {
  for (const x of boxes(b, parent.body, parent.end)) if (x.type === type) return x;
  return undefined;
};

/** Parses moov: the first video track's id, timescale, codec string and defaults. */
export function parseMoov(b: Uint8Array): TrackInfo {
  const moov = [...boxes(b, 0, b.length)][0];
  if (!moov || moov.type !== 'moov') throw new Mp4FormatError('no moov');
  const defaults = new Map<number, { duration: number; flags: number }>();
  const mvex = child(b, moov, 'mvex');
  if (mvex) {
    for (const x of boxes(b, mvex.body, mvex.end)) {
      if (x.type === 'trex') defaults.set(u32(b, x.body + 4), { duration: u32(b, x.body + 12), flags: u32(b, x.body + 20) });
    }
  }
  for (const trak of boxes(b, moov.body, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = child(b, trak, 'tkhd');
    const mdia = child(b, trak, 'mdia');
    if (!tkhd || !mdia) continue;
    const hdlr = child(b, mdia, 'hdlr');
    if (!hdlr || fourcc(b, hdlr.body + 8) !== 'vide') continue;
    const trackId = u32(b, tkhd.body + (b[tkhd.body] === 1 ? 20 : 12));
    const mdhd = child(b, mdia, 'mdhd')!;
    const timescale = u32(b, mdhd.body + (b[mdhd.body] === 1 ? 20 : 12));
    const stbl = child(b, child(b, child(b, mdia, 'minf')!, 'stbl') ?? mdia, 'stsd');
    if (!stbl) throw new Mp4FormatError('no sample description');
    const entry = [...boxes(b, stbl.body + 8, stbl.end)][0];
    if (!entry) throw new Mp4FormatError('empty sample description');
    const width = u16(b, entry.body + 24);
    const height = u16(b, entry.body + 26);
    let codec = entry.type;
    if (entry.type === 'avc1' || entry.type === 'avc3') {
      for (const x of boxes(b, entry.body + 78, entry.end)) {
        if (x.type === 'avcC') codec = `${entry.type}.${hex2(b[x.body + 1]!)}${hex2(b[x.body + 2]!)}${hex2(b[x.body + 3]!)}`;
      }
    }
    const d = defaults.get(trackId) ?? { duration: 0, flags: 0 };
    return { trackId, timescale, codec, width, height, defaultDuration: d.duration, defaultFlags: d.flags };
  }
  throw new Mp4FormatError('no video track');
}

/** Parses one moof: decode time, summed duration and first sync sample of the video track. */
export function parseMoof(b: Uint8Array, track: TrackInfo, fallbackTime: number): { time: number; duration: number; syncOffset: number | null; samples: number } {
  const moof = [...boxes(b, 0, b.length)][0]!;
  for (const traf of boxes(b, moof.body, moof.end)) {
    if (traf.type !== 'traf') continue;
    const tfhd = child(b, traf, 'tfhd');
    if (!tfhd || u32(b, tfhd.body + 4) !== track.trackId) continue;
    const tfFlags = u32(b, tfhd.body) & 0xffffff;
    let at = tfhd.body + 8;
    if (tfFlags & 0x1) at += 8;
    if (tfFlags & 0x2) at += 4;
    let defDuration = track.defaultDuration;
    let defFlags = track.defaultFlags;
    if (tfFlags & 0x8) (defDuration = u32(b, at)), (at += 4);
    if (tfFlags & 0x10) at += 4;
    if (tfFlags & 0x20) defFlags = u32(b, at);
    const tfdt = child(b, traf, 'tfdt');
    const time = tfdt ? (b[tfdt.body] === 1 ? u64(b, tfdt.body + 4) : u32(b, tfdt.body + 4)) : fallbackTime;
    let duration = 0;
    let samples = 0;
    let syncOffset: number | null = null;
    for (const trun of boxes(b, traf.body, traf.end)) {
      if (trun.type !== 'trun') continue;
      const f = u32(b, trun.body) & 0xffffff;
      const count = u32(b, trun.body + 4);
      samples += count;
      let q = trun.body + 8;
      if (f & 0x1) q += 4;
      let first: number | null = null;
      if (f & 0x4) (first = u32(b, q)), (q += 4);
      for (let i = 0; i < count; i++) {
        let d = defDuration;
        let flags = i === 0 && first !== null ? first : defFlags;
        if (f & 0x100) (d = u32(b, q)), (q += 4);
        if (f & 0x200) q += 4;
        if (f & 0x400) (flags = u32(b, q)), (q += 4);
        if (f & 0x800) q += 4;
        if (q > trun.end) throw new Mp4FormatError('trun runs past its box');
        if (syncOffset === null && !(flags & NON_SYNC)) syncOffset = duration;
        duration += d;
      }
    }
    return { time, duration, syncOffset, samples };
  }
  throw new Mp4FormatError('fragment without the video track');
}

/**
 * Streaming indexer: push() the clear bytes in order, in pieces of any size. Only box
 * headers, moov and moof are held; media data is skipped.
 */
export class Fmp4Indexer {
  track: TrackInfo | null = null;
  readonly initRanges: ByteRange[] = [];
  readonly fragments: Fragment[] = [];
  /** Most common sample duration seen, seconds (for frame stepping). */
  frameDuration = 0;

  private pos = 0;
  private head = new Uint8Array(16);
  private headFill = 0;
  private meta: Uint8Array | null = null;
  private metaFill = 0;
  private metaType = '';
  private metaStart = 0;
  private skip = 0;
  private nextTime = 0;
  private durations = new Map<number, number>();
  private commonDuration = 0;

  push(piece: Uint8Array): void {
    let off = 0;
    while (off < piece.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, piece.length - off);
        this.skip -= n;
        off += n;
        this.pos += n;
        continue;
      }
      if (this.meta) {
        const n = Math.min(this.meta.length - this.metaFill, piece.length - off);
        this.meta.set(piece.subarray(off, off + n), this.metaFill);
        this.metaFill += n;
        off += n;
        this.pos += n;
        if (this.metaFill === this.meta.length) this.onMeta();
        continue;
      }
      // Box header: 8 bytes, or 16 for a 64-bit size.
      const want = this.headFill >= 8 && u32(this.head, 0) === 1 ? 16 : 8;
      const n = Math.min(want - this.headFill, piece.length - off);
      this.head.set(piece.subarray(off, off + n), this.headFill);
      this.headFill += n;
      off += n;
      this.pos += n;
      if (this.headFill === want && !(want === 8 && u32(this.head, 0) === 1)) this.onHeader(want);
    }
  }

  /** Call after the last byte. */
  finish(): void {
    if (this.headFill > 0 || this.meta || (this.skip > 0 && this.skip !== Infinity)) throw new Mp4FormatError('video ends inside a box');
    if (!this.track || this.fragments.length === 0) throw new Mp4FormatError('not a fragmented MP4 video');
  }

  private onHeader(headerLength: number): void {
    const start = this.pos - headerLength;
    let size = headerLength === 16 ? u64(this.head, 8) : u32(this.head, 0);
    const type = fourcc(this.head, 4);
    this.headFill = 0;
    if (size === 0) size = Infinity;
    if (size < headerLength) throw new Mp4FormatError(`box ${type} has a bad size`);
    if (type === 'moov' || type === 'moof') {
      if (size > MAX_META_BOX) throw new Mp4FormatError(`${type} is too large`);
      this.meta = new Uint8Array(size);
      this.meta.set(this.head.subarray(0, headerLength));
      this.metaFill = headerLength;
      this.metaType = type;
      this.metaStart = start;
      return;
    }
    if (type === 'ftyp') this.initRanges.push({ offset: start, length: size });
    if (type === 'mdat') {
      const last = this.fragments[this.fragments.length - 1];
      if (last && last.offset + last.length === start) last.length += size;
    }
    this.skip = size - headerLength;
  }

  private onMeta(): void {
    const b = this.meta!;
    this.meta = null;
    if (this.metaType === 'moov') {
      this.track = parseMoov(b);
      this.initRanges.push({ offset: this.metaStart, length: b.length });
      return;
    }
    if (!this.track) throw new Mp4FormatError('fragment before the movie header');
    const ts = this.track.timescale;
    const { time, duration, syncOffset, samples } = parseMoof(b, this.track, this.nextTime);
    this.nextTime = time + duration;
    this.fragments.push({
      offset: this.metaStart,
      length: b.length,
      start: time / ts,
      end: (time + duration) / ts,
      syncAt: syncOffset === null ? null : (time + syncOffset) / ts,
    });
    if (samples > 0) {
      // The most common per-sample duration is the frame duration (frame stepping).
      const d = Math.round(duration / samples);
      const n = (this.durations.get(d) ?? 0) + 1;
      this.durations.set(d, n);
      if (n > (this.durations.get(this.commonDuration) ?? 0) || this.commonDuration === 0) this.commonDuration = d;
      this.frameDuration = this.commonDuration / ts;
    }
  }
}

/** Index of the fragment holding time t (the last one starting at or before t). */
export function fragmentAt(fragments: Fragment[], t: number): number {
  let lo = 0;
  let hi = fragments.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fragments[mid]!.start <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Index of the fragment to start appending from so that time t can be decoded: the nearest sync sample at or before t. */
export function decodableFrom(fragments: Fragment[], t: number): number {
  for (let i = fragmentAt(fragments, t); i >= 0; i--) {
    const s = fragments[i]!.syncAt;
    if (s !== null && s <= t + 1e-6) return i;
  }
  return 0;
}
