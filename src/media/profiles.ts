/**
 * Hardware pipeline profiles: data files in pipelines/, one per platform, each naming
 * its decode, convert/scale and encode elements. Loading validates them; building turns
 * a profile plus a source into the exact pipeline description gst-run runs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { VeilportError } from '../util/errors.js';

export type Codec = 'h264' | 'h265';
export type Container = 'mp4' | 'mkv' | 'ts';

export interface Profile {
  name: string;
  title: string;
  /** Higher wins when several profiles can run here. */
  rank: number;
  /** Decoder element (with properties) per codec. */
  decode: Partial<Record<Codec, string>>;
  /** Element that takes decoded frames to system-memory raw video. */
  toRaw: string;
  /** Element that scales (may equal toRaw). */
  scale: string;
  /** Encode chain from raw I420 to H.264 caps; {bitrate_kbps} {bitrate_bps} {gop_frames}. */
  encode: string;
}

export const PIPELINES_DIR = fileURLToPath(new URL('../../pipelines/', import.meta.url));

const PARAMS = new Set(['bitrate_kbps', 'bitrate_bps', 'gop_frames']);

function checkString(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') {
    throw new VeilportError('BAD_INPUT', `${file}: "${key}" must be a non-empty string`);
  }
  for (const m of v.matchAll(/\{([^}]*)\}/g)) {
    if (!PARAMS.has(m[1]!)) throw new VeilportError('BAD_INPUT', `${file}: "${key}" uses unknown parameter {${m[1]}}; known: ${[...PARAMS].join(', ')}`);
  }
  return v;
}

/** Validates one profile file's content; errors name the file and the key. */
export function parseProfile(file: string, json: unknown): Profile {
  if (typeof json !== 'object' || json === null) throw new VeilportError('BAD_INPUT', `${file}: not a JSON object`);
  const o = json as Record<string, unknown>;
  const name = checkString(file, 'name', o['name']);
  if (!/^[a-z0-9-]+$/.test(name)) throw new VeilportError('BAD_INPUT', `${file}: "name" must be lower-case letters, digits and dashes`);
  if (typeof o['rank'] !== 'number') throw new VeilportError('BAD_INPUT', `${file}: "rank" must be a number`);
  const dec = o['decode'];
  if (typeof dec !== 'object' || dec === null) throw new VeilportError('BAD_INPUT', `${file}: "decode" must map codecs to decoder elements`);
  const decode: Partial<Record<Codec, string>> = {};
  for (const [k, v] of Object.entries(dec)) {
    if (k !== 'h264' && k !== 'h265') throw new VeilportError('BAD_INPUT', `${file}: "decode.${k}": unknown codec (h264, h265)`);
    decode[k] = checkString(file, `decode.${k}`, v);
  }
  if (!decode.h264) throw new VeilportError('BAD_INPUT', `${file}: "decode.h264" is required`);
  return {
    name,
    title: checkString(file, 'title', o['title']),
    rank: o['rank'],
    decode,
    toRaw: checkString(file, 'toRaw', o['toRaw']),
    scale: checkString(file, 'scale', o['scale']),
    encode: checkString(file, 'encode', o['encode']),
  };
}

export function loadProfiles(dir = PIPELINES_DIR): Profile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const profiles = files.map((f) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch (e) {
      throw new VeilportError('BAD_INPUT', `${join(dir, f)}: not valid JSON (${(e as Error).message})`);
    }
    return parseProfile(join(dir, f), json);
  });
  return profiles.sort((a, b) => b.rank - a.rank);
}

/** Element factory names a chain uses: the first word of each "!"-separated part. */
export function elementsOf(chain: string): string[] {
  return chain
    .split('!')
    .map((part) => part.trim().split(/\s+/)[0] ?? '')
    .filter((w) => w !== '' && !w.includes('/') && !w.includes('('));
}

/** Every element a profile needs (for probing), codec-specific decoders included. */
export function requiredElements(p: Profile, codecs: Codec[] = ['h264']): string[] {
  const chains = [p.toRaw, p.scale, p.encode, ...codecs.map((c) => p.decode[c] ?? '')];
  return [...new Set(chains.flatMap(elementsOf))];
}

const DEMUX: Record<Container, string> = { mp4: 'qtdemux', mkv: 'matroskademux', ts: 'tsdemux' };
const PARSE: Record<Codec, string> = { h264: 'h264parse', h265: 'h265parse' };

/** Quotes a file path for gst_parse_launch. */
export function quoteLocation(path: string): string {
  if (/[\0\n]/.test(path)) throw new VeilportError('BAD_INPUT', `unusable file name: ${JSON.stringify(path)}`);
  return `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface DecodeSpec {
  file: string;
  container: Container;
  codec: Codec;
  /** Output size; frames are scaled when the source differs. */
  width: number;
  height: number;
  scaleNeeded: boolean;
}

/** Decode pipeline: file -> demux -> parse -> decode -> raw I420 -> appsink "out". */
export function decodePipeline(p: Profile, s: DecodeSpec): string {
  const decoder = p.decode[s.codec];
  if (!decoder) {
    throw new VeilportError('PIPELINE_FAILED', `profile "${p.name}" has no ${s.codec.toUpperCase()} decoder; choose another profile (veilport probe)`);
  }
  const parts = [
    `filesrc location=${quoteLocation(s.file)}`,
    `${DEMUX[s.container]}`,
    // Only the first video stream: audio is dropped by design.
    `${PARSE[s.codec]}`,
    decoder,
    p.toRaw,
  ];
  if (s.scaleNeeded) parts.push(p.scale);
  parts.push(`video/x-raw,format=I420,width=${s.width},height=${s.height}`);
  parts.push('appsink name=out sync=false max-buffers=2');
  return parts.join(' ! ');
}

export interface EncodeSpec {
  bitrateKbps: number;
  gopFrames: number;
}

/** Encode pipeline: appsrc "in" -> encoder -> fragmented MP4 on stdout (browser-playable). */
export function encodePipeline(p: Profile, e: EncodeSpec): string {
  const chain = p.encode
    .replaceAll('{bitrate_kbps}', String(Math.round(e.bitrateKbps)))
    .replaceAll('{bitrate_bps}', String(Math.round(e.bitrateKbps * 1000)))
    .replaceAll('{gop_frames}', String(Math.round(e.gopFrames)));
  return [
    'appsrc name=in format=time is-live=false block=true max-bytes=33554432',
    chain,
    'h264parse',
    // Fragmented and streamable: written to a pipe, never seeked, and playable by MSE.
    'mp4mux fragment-duration=1000 streamable=true',
    'fdsink fd=1 sync=false',
  ].join(' ! ');
}
