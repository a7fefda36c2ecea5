/**
 * Plays the decrypted video through Media Source Extensions, never through a file or a
 * downloadable URL. One pass decrypts every chunk in order (authenticating each: a
 * failing tag stops playback and discards everything) and indexes the fragmented MP4;
 * playback starts as soon as the first fragments are indexed. The Media Source buffer
 * holds only a window around the playhead; seeking outside it decrypts again just the
 * chunks that hold the fragments needed, from the nearest key frame.
 */
import { decryptChunk, type ByteSource, type VerifiedPackage } from './format.js';
import { decodableFrom, Fmp4Indexer, Mp4FormatError, type ByteRange, type Fragment } from './fmp4.js';

export class PlaybackError extends Error {
  constructor(readonly reason: 'noMse' | 'codec' | 'notVideo' | 'media', message: string, readonly params: Record<string, string> = {}) {
    super(message);
    this.name = 'PlaybackError';
  }
}

export interface PlaybackEvents {
  /** A fatal problem: playback has been torn down and nothing decrypted is kept. */
  onFatal(e: unknown): void;
  /** Fraction of the package decrypted and authenticated so far. */
  onProgress(fraction: number): void;
  /** Known duration grew (seconds). */
  onDuration(seconds: number): void;
  /** Every chunk has been decrypted and authenticated and the video indexed (ms since start). */
  onIndexed(ms: number): void;
}

/** Seconds of video kept in the buffer behind and ahead of the playhead. */
const BEHIND_S = 10;
const AHEAD_S = 30;
/** Decrypted chunks kept for re-use (bytes). */
const CACHE_BYTES = 32 * 1024 * 1024;

const once = (target: EventTarget, type: string) => new Promise<void>((resolve) => target.addEventListener(type, () => resolve(), { once: true }));

export class Playback {
  readonly indexer = new Fmp4Indexer();
  indexDone = false;
  /** Time from start() to the first fragment appended, ms. */
  firstAppendMs: number | null = null;
  /** Time for the full decrypt-and-index pass, ms. */
  indexMs: number | null = null;
  /**
   * Presentation minus decode time, seconds (composition offsets): learnt from the buffered
   * range once the first fragment is in. Fragment times are decode times; the playhead is not.
   */
  offset = 0;

  private ms: MediaSource | null = null;
  private sb: SourceBuffer | null = null;
  private url: string | null = null;
  private cache = new Map<number, Uint8Array>();
  private cacheBytes = 0;
  private runStart = -1;
  private nextFrag = -1;
  private pumping = false;
  private again = false;
  private stopped = false;
  private ahead = AHEAD_S;
  private timer: ReturnType<typeof setInterval> | null = null;
  private t0 = 0;
  private readonly onMediaEvent = () => void this.pump();

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly src: ByteSource,
    private readonly pkg: VerifiedPackage,
    private key: Uint8Array,
    private readonly ev: PlaybackEvents,
  ) {}

  get fragments(): Fragment[] {
    return this.indexer.fragments;
  }

  /** Presentation time of the first frame, seconds. */
  get firstFrameTime(): number {
    return (this.fragments[0]?.start ?? 0) + this.offset;
  }

  /** Starts decrypting and indexing; resolves once the video can be attached, rejects on a fatal error before that. */
  start(): Promise<void> {
    if (typeof MediaSource !== 'function') return Promise.reject(new PlaybackError('noMse', 'this browser has no Media Source Extensions'));
    this.t0 = performance.now();
    return new Promise<void>((resolve, reject) => {
      let attached = false;
      void this.indexAll(async () => {
        if (attached) return;
        attached = true;
        try {
          await this.attach();
          resolve();
        } catch (e) {
          reject(e);
        }
      }).catch((e: unknown) => {
        this.fail(e);
        if (!attached) reject(e);
      });
    });
  }

  /** Stops playback and drops every decrypted byte this object holds. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of ['timeupdate', 'seeking', 'waiting', 'play']) this.video.removeEventListener(t, this.onMediaEvent);
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.load();
    if (this.url) URL.revokeObjectURL(this.url);
    for (const c of this.cache.values()) c.fill(0);
    this.cache.clear();
    this.cacheBytes = 0;
    this.key.fill(0);
  }

  private fail(e: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.ev.onFatal(e);
  }

  /** Decrypted chunk i, from the cache or freshly decrypted and authenticated. */
  private async chunk(i: number): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) {
      this.cache.delete(i);
      this.cache.set(i, hit);
      return hit;
    }
    const clear = await decryptChunk(this.src, this.pkg, this.key, i);
    if (this.stopped) throw new Error('stopped');
    this.cache.set(i, clear);
    this.cacheBytes += clear.length;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= CACHE_BYTES || this.cache.size <= 2) break;
      this.cache.delete(k);
      this.cacheBytes -= v.length;
      v.fill(0);
    }
    return clear;
  }

  /** Clear bytes [offset, offset + length) of the video, from the chunks that hold them. */
  private async bytes(r: ByteRange): Promise<Uint8Array> {
    const size = this.pkg.manifest.crypto.chunkSize;
    const out = new Uint8Array(r.length);
    for (let at = r.offset; at < r.offset + r.length; ) {
      const i = Math.floor(at / size);
      const c = await this.chunk(i);
      const from = at - i * size;
      const n = Math.min(c.length - from, r.offset + r.length - at);
      if (n <= 0) throw new PlaybackError('media', 'video data ends early');
      out.set(c.subarray(from, from + n), at - r.offset);
      at += n;
    }
    return out;
  }

  private async indexAll(ready: () => Promise<void>): Promise<void> {
    const n = this.pkg.chunks.length;
    for (let i = 0; i < n; i++) {
      const clear = await this.chunk(i);
      try {
        this.indexer.push(clear);
      } catch (e) {
        if (e instanceof Mp4FormatError) throw new PlaybackError('notVideo', `the package does not hold a playable fragmented MP4 video (${e.message})`, { detail: e.message });
        throw e;
      }
      this.ev.onProgress((i + 1) / n);
      if (this.indexer.track && this.indexer.fragments.length > 1) await ready();
      if (this.sb) void this.pump();
    }
    try {
      this.indexer.finish();
    } catch (e) {
      throw new PlaybackError('notVideo', `the package does not hold a playable fragmented MP4 video (${(e as Error).message})`, { detail: (e as Error).message });
    }
    this.indexDone = true;
    this.indexMs = performance.now() - this.t0;
    this.ev.onIndexed(this.indexMs);
    await ready();
    void this.pump();
  }

  private async attach(): Promise<void> {
    const track = this.indexer.track!;
    const mime = `video/mp4; codecs="${track.codec}"`;
    if (!MediaSource.isTypeSupported(mime)) throw new PlaybackError('codec', `this browser cannot play ${mime}`, { codec: track.codec });
    const ms = new MediaSource();
    this.ms = ms;
    this.url = URL.createObjectURL(ms);
    const opened = once(ms, 'sourceopen');
    this.video.src = this.url;
    await opened;
    this.sb = ms.addSourceBuffer(mime);
    this.sb.addEventListener('error', () => this.fail(new PlaybackError('media', 'the browser could not decode the video')));
    this.video.addEventListener('error', () => this.fail(new PlaybackError('media', `the browser could not decode the video (${this.video.error?.message ?? 'media error'})`)));
    const init = await Promise.all(this.indexer.initRanges.map((r) => this.bytes(r)));
    for (const part of init) await this.append(part);
    for (const t of ['timeupdate', 'seeking', 'waiting', 'play']) this.video.addEventListener(t, this.onMediaEvent);
    this.timer = setInterval(() => void this.pump(), 1000);
    await this.pump();
  }

  private async append(data: Uint8Array): Promise<void> {
    const sb = this.sb!;
    if (sb.updating) await once(sb, 'updateend');
    const done = once(sb, 'updateend');
    sb.appendBuffer(data as Uint8Array<ArrayBuffer>);
    await done;
  }

  private async remove(from: number, to: number): Promise<void> {
    const sb = this.sb!;
    if (sb.updating) await once(sb, 'updateend');
    const done = once(sb, 'updateend');
    sb.remove(from, to);
    await done;
  }

  private buffered(t: number): boolean {
    const b = this.sb!.buffered;
    for (let i = 0; i < b.length; i++) if (t >= b.start(i) - 0.001 && t < b.end(i) - 0.01) return true;
    return false;
  }

  /** Keeps the buffer window filled around the playhead; safe to call at any time. */
  private async pump(): Promise<void> {
    if (!this.sb || this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.fill();
      } while (this.again && !this.stopped);
    } catch (e) {
      if (!this.stopped) this.fail(e);
    } finally {
      this.pumping = false;
    }
  }

  private async fill(): Promise<void> {
    const frags = this.fragments;
    const ms = this.ms!;
    const sb = this.sb!;
    for (;;) {
      if (this.stopped) return;
      if (sb.updating) await once(sb, 'updateend');
      const t = this.video.currentTime;
      const td = t - this.offset;
      // The last indexed fragment may still lack its media data; it is complete once the next one starts.
      const complete = this.indexDone ? frags.length : Math.max(0, frags.length - 1);
      if (complete === 0) return;
      const known = frags[complete - 1]!.end + this.offset;
      if (ms.readyState === 'open' && (Number.isNaN(ms.duration) || ms.duration === Infinity || ms.duration < known)) {
        ms.duration = known;
        this.ev.onDuration(known);
      }
      // A playhead outside what is buffered, and before the run being appended or past a key
      // frame that run has not reached yet: start a new run from the key frame before it.
      if (!this.buffered(t)) {
        const from = decodableFrom(frags, td);
        if (this.nextFrag < 0 || td < frags[this.runStart]!.start || from > this.nextFrag) {
          if (sb.buffered.length) await this.remove(0, Infinity);
          this.runStart = from;
          this.nextFrag = from;
          continue;
        }
      }
      // Drop what lies well behind the playhead, up to a key frame (removal runs on to the next one).
      if (sb.buffered.length) {
        const sync = frags[decodableFrom(frags, Math.max(0, td - BEHIND_S))]!.syncAt;
        const k = sync === null ? null : sync + this.offset;
        if (k !== null && k < t && sb.buffered.start(0) < k - 1) {
          await this.remove(0, k);
          continue;
        }
      }
      const next = this.nextFrag < complete ? frags[this.nextFrag] : undefined;
      if (next && next.start < td + this.ahead) {
        try {
          await this.append(await this.bytes(next));
        } catch (e) {
          if ((e as DOMException)?.name === 'QuotaExceededError' && this.ahead > 4) {
            this.ahead = Math.max(4, this.ahead / 2);
            continue;
          }
          throw e;
        }
        if (this.firstAppendMs === null) {
          this.firstAppendMs = performance.now() - this.t0;
          if (this.nextFrag === 0 && next.syncAt === next.start && sb.buffered.length) this.offset = sb.buffered.start(0) - next.start;
        }
        this.nextFrag++;
        continue;
      }
      if (this.indexDone && this.nextFrag >= frags.length && ms.readyState === 'open' && !sb.updating) ms.endOfStream();
      return;
    }
  }
}
