/**
 * Decodes the footage of a range plan, piece after piece, into I420 frames on one
 * timeline measured from the start of the export. Source timestamps are kept: a gap
 * between segments stays a gap in time, and frames are never invented to fill it.
 */
import { VeilportError } from '../util/errors.js';
import { readRecords } from './gst-process.js';
import { decodePipeline, type Codec, type Container, type Profile } from './profiles.js';
import { i420Layout, parseRawCaps, type Frame } from './frame.js';

/** One stretch of one segment file to decode (what the catalog's resolveRange returns). */
export interface DecodePiece {
  file: string;
  segmentStart: Date;
  inpointNs: number;
  outpointNs: number;
  codec: Codec;
  container: Container;
  width: number;
  height: number;
}

export interface DecodeOptions {
  profile: Profile;
  /** Start of the export; frame times are measured from here. */
  from: Date;
  /** End of the export; frames at or after it are dropped. */
  to: Date;
  /** Output frame size; defaults to the first piece's size. */
  width?: number;
  height?: number;
  stallMs?: number;
  signal?: AbortSignal;
}

export async function* decodePieces(pieces: DecodePiece[], opts: DecodeOptions): AsyncGenerator<Frame> {
  const first = pieces[0];
  if (!first) throw new VeilportError('NOT_FOUND', 'no footage to decode');
  const width = opts.width ?? first.width;
  const height = opts.height ?? first.height;
  const layout = i420Layout(width, height);
  const endNs = (opts.to.getTime() - opts.from.getTime()) * 1e6;
  let index = 0;
  let lastT = -Infinity;

  for (const piece of pieces) {
    const label = `decode ${piece.file}`;
    const desc = decodePipeline(opts.profile, {
      file: piece.file,
      container: piece.container,
      codec: piece.codec,
      width,
      height,
      scaleNeeded: piece.width !== width || piece.height !== height,
    });
    const offsetNs = (piece.segmentStart.getTime() - opts.from.getTime()) * 1e6;
    const runOpts = { label, startNs: piece.inpointNs, stopNs: piece.outpointNs, ...(opts.stallMs ? { stallMs: opts.stallMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
    let sawCaps = false;
    for await (const rec of readRecords(desc, runOpts)) {
      if (rec.kind === 'caps') {
        const caps = parseRawCaps(rec.caps);
        if (!caps || caps.format !== 'I420' || caps.width !== width || caps.height !== height) {
          throw new VeilportError('PIPELINE_FAILED', `${label}: unexpected frame format ${rec.caps}`);
        }
        sawCaps = true;
        continue;
      }
      if (!sawCaps) throw new VeilportError('PIPELINE_FAILED', `${label}: frames arrived before their format`);
      if (rec.ptsNs < 0) throw new VeilportError('PIPELINE_FAILED', `${label}: a frame without a timestamp`);
      if (rec.data.length !== layout.size) {
        throw new VeilportError('PIPELINE_FAILED', `${label}: frame of ${rec.data.length} bytes, expected ${layout.size}`);
      }
      const tNs = offsetNs + rec.ptsNs;
      // Overlapping segments or a decoder that repeats a frame: keep time strictly increasing.
      if (tNs <= lastT || tNs < 0 || tNs >= endNs) continue;
      lastT = tNs;
      yield { tNs, durationNs: rec.durationNs > 0 ? rec.durationNs : 0, index: index++, layout, data: rec.data };
    }
  }
}
