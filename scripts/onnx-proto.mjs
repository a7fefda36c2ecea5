// A minimal writer for the ONNX protobuf messages a converted model needs (ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and the types they
// hold), field numbers as in onnx/onnx.proto. Written here rather than pulled from npm:
// about a hundred lines, no dependency to audit, and the bytes depend only on the input
// (fields in field-number order, repeated scalars unpacked as proto2 serialisers write
// them), which the pinned SHA-256 of a converted model relies on.

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 };
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 };

class Writer {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(bytes) {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  varint(v) {
    // int64 semantics: negative numbers are written as their 64-bit two's complement.
    let n = BigInt.asUintN(64, BigInt(v));
    const out = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) b |= 0x80;
      out.push(b);
    } while (n !== 0n);
    this.push(Uint8Array.from(out));
  }
  tag(field, wire) {
    this.varint((field << 3) | wire);
  }
  int(field, v) {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field, v) {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }
  bytes(field, b) {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
  }
  string(field, s) {
    this.bytes(field, new TextEncoder().encode(s));
  }
  message(field, w) {
    this.bytes(field, w.finish());
  }
  finish() {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/**
 * A tensor: { name, dataType, dims, raw } with raw the little-endian bytes
 * (Uint8Array) of the elements.
 */
function tensorProto(t) {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  if (t.name) w.string(8, t.name);
  w.bytes(9, t.raw);
  return w;
}

/** An attribute: { name, f } | { name, i } | { name, s } | { name, t } | { name, floats } | { name, ints }. */
function attributeProto(a) {
  const w = new Writer();
  w.string(1, a.name);
  let type;
  if ('f' in a) {
    w.float(2, a.f);
    type = AttrType.FLOAT;
  } else if ('i' in a) {
    w.int(3, a.i);
    type = AttrType.INT;
  } else if ('s' in a) {
    w.string(4, a.s);
    type = AttrType.STRING;
  } else if ('t' in a) {
    w.message(5, tensorProto(a.t));
    type = AttrType.TENSOR;
  } else if ('floats' in a) {
    for (const f of a.floats) w.float(7, f);
    type = AttrType.FLOATS;
  } else if ('ints' in a) {
    for (const i of a.ints) w.int(8, i);
    type = AttrType.INTS;
  } else {
    throw new Error(`onnx-proto: attribute ${a.name} has no value`);
  }
  w.int(20, type);
  return w;
}

/** A node: { name, opType, inputs: string[], outputs: string[], attributes: [] }. */
function nodeProto(n) {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  return w;
}

/** A graph input or output: { name, elemType, shape: number[] }. */
function valueInfoProto(v) {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    dim.int(1, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer();
  tensorType.int(1, v.elemType);
  tensorType.message(2, shape);
  const type = new Writer();
  type.message(1, tensorType);
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

/**
 * Serialises a model: { irVersion, opset, producerName, producerVersion, docString,
 * metadata: [[key, value]], graph: { name, nodes, initializers, inputs, outputs } }.
 */
export function encodeModel(m) {
  const g = new Writer();
  for (const n of m.graph.nodes) g.message(1, nodeProto(n));
  g.string(2, m.graph.name);
  for (const t of m.graph.initializers) g.message(5, tensorProto(t));
  for (const v of m.graph.inputs) g.message(11, valueInfoProto(v));
  for (const v of m.graph.outputs) g.message(12, valueInfoProto(v));

  const w = new Writer();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, g);
  const opset = new Writer();
  opset.string(1, '');
  opset.int(2, m.opset);
  w.message(8, opset);
  for (const [key, value] of m.metadata ?? []) {
    const kv = new Writer();
    kv.string(1, key);
    kv.string(2, value);
    w.message(14, kv);
  }
  return w.finish();
}
