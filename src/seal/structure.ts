/**
 * Incremental structural parser: fed the bytes before the trailer in order, in pieces
 * of any size, it decodes the header and walks the chunk records without holding more
 * than the (bounded) header and one 28-byte record head. It does not throw: the first
 * problem is kept in `error` so the reader can report the digest result before it, as
 * the validation order in docs/package-format.md requires.
 */
import { VeilportError } from '../util/errors.js';
import { equalBytes, readU32, type Region } from './bytes.js';
import { CHUNK_HEAD_BYTES, MAX_CHUNKS, NONCE_BYTES, PREFIX_BYTES, TAG_BYTES } from './constants.js';
import { checkHeaderLength, decodeHeader, decodePrefix, type DecodedHeader } from './header.js';
import { parseManifest, type Manifest } from './manifest.js';
import { chunkNonce } from './stream.js';

type Phase = 'prefix' | 'header' | 'chunkHead' | 'chunkBody' | 'failed';

export class StructureParser {
  /** Problem found in the prefix or header: nothing after it can be trusted to be located. */
  headerError: VeilportError | null = null;
  /** Problem found in the chunk records. */
  chunkError: VeilportError | null = null;
  header: DecodedHeader | null = null;
  manifest: Manifest | null = null;
  chunks = 0;
  /** Regions of every field, only kept when asked for (a 1 GB file has thousands). */
  readonly regions: Region[] = [];

  private phase: Phase = 'prefix';
  private pos = 0;
  private acc = new Uint8Array(PREFIX_BYTES);
  private accFill = 0;
  private bodyLeft = 0;
  private chunkSize = 0;
  private chunkStart = 0;

  /** @param dataEnd offset where the trailer starts, i.e. the number of bytes that will be fed. */
  constructor(
    private readonly dataEnd: number,
    private readonly keepRegions = false,
  ) {}

  /** Offset of the first chunk record (valid once the header is decoded). */
  get firstChunkOffset(): number {
    return this.chunkStart;
  }

  feed(piece: Uint8Array): void {
    let off = 0;
    while (off < piece.length && this.phase !== 'failed') {
      if (this.phase === 'chunkBody') {
        const n = Math.min(this.bodyLeft, piece.length - off);
        this.bodyLeft -= n;
        off += n;
        this.pos += n;
        if (this.bodyLeft === 0) this.startHead();
        continue;
      }
      const n = Math.min(this.acc.length - this.accFill, piece.length - off);
      this.acc.set(piece.subarray(off, off + n), this.accFill);
      this.accFill += n;
      off += n;
      this.pos += n;
      if (this.accFill === this.acc.length) this.complete();
    }
  }

  /** Call after the last byte: checks that the data ended exactly after a final chunk. */
  finish(): void {
    if (this.phase === 'failed') return;
    if (this.phase === 'prefix' || this.phase === 'header') {
      this.headerError = format('package ends inside its header');
    } else if (this.phase === 'chunkBody' || this.accFill > 0 || this.chunks === 0) {
      this.chunkError = format(`chunk records do not end where the trailer starts (chunk ${this.chunks})`);
    }
  }

  private complete(): void {
    try {
      if (this.phase === 'prefix') return this.onPrefix();
      if (this.phase === 'header') return this.onHeader();
      if (this.phase === 'chunkHead') return this.onChunkHead();
    } catch (e) {
      const err = e instanceof VeilportError ? e : format(String(e));
      if (this.phase === 'chunkHead') this.chunkError = err;
      else this.headerError = err;
      this.phase = 'failed';
    }
  }

  private onPrefix(): void {
    const { headerLength } = decodePrefix(this.acc);
    // The smallest possible chunk record must still fit after the header.
    checkHeaderLength(headerLength, this.dataEnd - PREFIX_BYTES - CHUNK_HEAD_BYTES - TAG_BYTES);
    const whole = new Uint8Array(PREFIX_BYTES + headerLength);
    whole.set(this.acc);
    this.acc = whole;
    this.phase = 'header';
  }

  private onHeader(): void {
    const header = decodeHeader(this.acc);
    this.manifest = parseManifest(header.manifestBytes, header.keys.recipient !== null);
    this.header = header;
    this.chunkSize = this.manifest.crypto.chunkSize;
    this.chunkStart = this.pos;
    if (this.keepRegions) this.regions.push(...header.regions);
    this.startHead();
  }

  private startHead(): void {
    this.acc = new Uint8Array(CHUNK_HEAD_BYTES);
    this.accFill = 0;
    this.phase = 'chunkHead';
  }

  private onChunkHead(): void {
    const i = this.chunks;
    const headAt = this.pos - CHUNK_HEAD_BYTES;
    const length = readU32(this.acc, 0);
    const nonce = this.acc.subarray(4);
    const max = this.chunkSize + TAG_BYTES;
    if (length < TAG_BYTES || length > max) {
      throw format(`chunk ${i} length ${length} is outside ${TAG_BYTES}..${max}`);
    }
    const end = this.pos + length;
    if (end > this.dataEnd) throw format(`chunk ${i} runs past the trailer`);
    const final = end === this.dataEnd;
    if (!final && length !== max) throw format(`chunk ${i} is shorter than the chunk size but is not the last`);
    if (final && length === TAG_BYTES && i > 0) throw format(`chunk ${i} is an empty last chunk after data`);
    if (i + 1 > MAX_CHUNKS) throw format('too many chunks');
    // The stored nonce is redundant with its position; a mismatch means records were moved.
    if (!this.header || !equalBytes(nonce, chunkNonce(this.header.keys.noncePrefix, i))) {
      throw new VeilportError('PACKAGE_TAMPERED', `chunk ${i} nonce does not match its position (chunks moved, duplicated or spliced)`, { chunk: i });
    }
    if (this.keepRegions) {
      this.regions.push(
        { name: `chunk[${i}].length`, offset: headAt, length: 4 },
        { name: `chunk[${i}].nonce`, offset: headAt + 4, length: NONCE_BYTES },
        { name: `chunk[${i}].ciphertext`, offset: this.pos, length: length - TAG_BYTES },
        { name: `chunk[${i}].tag`, offset: end - TAG_BYTES, length: TAG_BYTES },
      );
    }
    this.chunks++;
    this.bodyLeft = length;
    this.phase = 'chunkBody';
  }
}

function format(msg: string): VeilportError {
  return new VeilportError('PACKAGE_FORMAT', msg);
}
