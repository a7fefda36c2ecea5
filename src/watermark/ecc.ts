/**
 * Error control for the watermark payload: CRC-32 (IEEE 802.3) to recognise a correct
 * decode, and the standard rate-1/2, constraint-length-7 convolutional code (generators
 * 171 and 133 octal, as in DVB and 802.11) with a soft-decision Viterbi decoder.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Bits of bytes, most significant bit first. */
export function toBits(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}

export function fromBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bits.length >> 3);
  for (let i = 0; i < out.length * 8; i++) out[i >> 3] = out[i >> 3]! | ((bits[i]! & 1) << (7 - (i & 7)));
  return out;
}

const K = 7;
const STATES = 1 << (K - 1);
const G0 = 0o171;
const G1 = 0o133;
const parity = (x: number) => {
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return x & 1;
};
/** Output pair for (state, input): bit 1 = G0 output, bit 0 = G1 output. */
const OUT = (() => {
  const t = new Uint8Array(STATES * 2);
  for (let s = 0; s < STATES; s++) {
    for (let b = 0; b < 2; b++) {
      const reg = (b << (K - 1)) | s;
      t[s * 2 + b] = (parity(reg & G0) << 1) | parity(reg & G1);
    }
  }
  return t;
})();

/** Encodes `bits` followed by K-1 zero tail bits: 2 * (n + 6) coded bits. */
export function convEncode(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 * (bits.length + K - 1));
  let s = 0;
  for (let i = 0; i < bits.length + K - 1; i++) {
    const b = i < bits.length ? bits[i]! & 1 : 0;
    const o = OUT[s * 2 + b]!;
    out[2 * i] = o >> 1;
    out[2 * i + 1] = o & 1;
    s = ((b << (K - 1)) | s) >> 1;
  }
  return out;
}

/**
 * Soft-decision Viterbi decoding. `soft[i] > 0` means coded bit i is more likely 1, its
 * magnitude the confidence. Returns the `n` information bits (tail removed).
 */
export function viterbiDecode(soft: Float32Array | Float64Array, n: number): Uint8Array {
  const steps = n + K - 1;
  if (soft.length < 2 * steps) throw new RangeError('not enough coded values');
  let metric = new Float64Array(STATES).fill(-Infinity);
  metric[0] = 0;
  let next = new Float64Array(STATES);
  const from = new Uint8Array(steps * STATES);
  for (let i = 0; i < steps; i++) {
    next.fill(-Infinity);
    const a = soft[2 * i]!;
    const b = soft[2 * i + 1]!;
    const maxInput = i < n ? 2 : 1;
    for (let s = 0; s < STATES; s++) {
      const m = metric[s]!;
      if (m === -Infinity) continue;
      for (let bit = 0; bit < maxInput; bit++) {
        const o = OUT[s * 2 + bit]!;
        const gain = m + ((o >> 1) ? a : -a) + ((o & 1) ? b : -b);
        const ns = ((bit << (K - 1)) | s) >> 1;
        if (gain > next[ns]!) {
          next[ns] = gain;
          // Remember the predecessor's low bit: with the new state it identifies the old one.
          from[i * STATES + ns] = s & 1;
        }
      }
    }
    [metric, next] = [next, metric];
  }
  // Trace back from state 0 (the tail flushes the encoder to zero).
  const bits = new Uint8Array(steps);
  let s = 0;
  for (let i = steps - 1; i >= 0; i--) {
    bits[i] = (s >> (K - 2)) & 1;
    s = ((s << 1) & (STATES - 1)) | from[i * STATES + s]!;
  }
  return bits.subarray(0, n);
}
