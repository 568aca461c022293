// Reference outputs of the ORIGINAL face-api FaceExpressionNet and FaceRecognitionNet (JavaScript).
//
// Runs @vladmandic/face-api 1.7.15's own FaceExpressionNet class, loaded from
// the package's own weights files, on tfjs 4.22.0's pure-JS "cpu" backend, over
// tests/fixtures/conversion/crops.npy, and writes the probabilities (face-api
// class order, full float32 precision) and the 256-d bottleneck features. The
// Keras rebuild (affect_live/model/faceapi_net.py) is checked against them.
// Then it runs face-api's FaceRecognitionNet.computeFaceDescriptor on
// tests/fixtures/conversion/recognition_crops.npy (150x150 RGB chips, made by
// make_recognition_crops.py) and writes reference_descriptors.json, against which the
// shipped models/face-recognition/face_recognition.tflite is checked.
//
// Run (Node >= 18; only the npm registry is needed, no native binaries):
//   cd tools/faceapi_reference
//   npm ci --ignore-scripts          # or: npm install --ignore-scripts
//   python make_crops.py             # (from the repo root) if crops.npy is missing
//   node reference.mjs [--crops PATH] [--out-dir DIR] [--model-dir DIR]
//
// face-api's node-wasm bundle is used only because it takes tfjs from the
// pinned @tensorflow/tfjs package instead of tfjs-node (which needs a native
// download); the wasm backend is registered by that bundle but not used: the
// backend is forced to "cpu" and recorded in the output.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const { tf } = faceapi;
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

const PINNED_SHA256 = {
  'face_expression_model.bin': '9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d',
  'face_expression_model-weights_manifest.json': '5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8',
  'face_recognition_model.bin': 'b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589',
  'face_recognition_model-weights_manifest.json': 'cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b',
};

const { values: args } = parseArgs({
  options: {
    crops: { type: 'string', default: path.join(repoRoot, 'tests/fixtures/conversion/crops.npy') },
    chips: { type: 'string', default: path.join(repoRoot, 'tests/fixtures/conversion/recognition_crops.npy') },
    'out-dir': { type: 'string', default: path.join(repoRoot, 'tests/fixtures/conversion') },
    'model-dir': { type: 'string', default: path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model') },
  },
});

function readPinned(name) {
  const buf = readFileSync(path.join(args['model-dir'], name));
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== PINNED_SHA256[name]) throw new Error(`${name}: sha256 ${sha} != pinned ${PINNED_SHA256[name]}`);
  return buf;
}

// Minimal .npy reader: uint8, C order (what make_crops.py writes).
function readNpyUint8(file) {
  const buf = readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'\|u1'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${file}: expected a C-order uint8 array, header ${header}`);
  }
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Uint8Array(buf.buffer, buf.byteOffset + start + headerLen, shape.reduce((a, b) => a * b, 1));
  return { shape, data };
}

function loadWeights(prefix) {
  const manifest = JSON.parse(readPinned(`${prefix}-weights_manifest.json`).toString('utf8'));
  const bin = readPinned(`${prefix}.bin`);
  const specs = manifest.flatMap((group) => group.weights);
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), specs);
}

function readTensors(file, size) {
  const { shape, data } = readNpyUint8(file);
  const [n, h, w, c] = shape;
  if (h !== size || w !== size || c !== 3) throw new Error(`${file} must be (N,${size},${size},3), got ${shape}`);
  const stride = h * w * c;
  const tensors = [];
  for (let i = 0; i < n; i += 1) tensors.push(tf.tensor3d(data.subarray(i * stride, (i + 1) * stride), [h, w, c], 'int32'));
  return tensors;
}

// face-api's FaceRecognitionNet on the 150x150 chips: one 128-d descriptor per chip.
async function descriptors(common) {
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(loadWeights('face_recognition_model'));
  const inputs = readTensors(args.chips, 150);
  const names = JSON.parse(readFileSync(args.chips.replace(/\.npy$/, '.json'), 'utf8'));
  const out = await net.computeFaceDescriptor(inputs);
  inputs.forEach((t) => t.dispose());
  const list = (Array.isArray(out) ? out : [out]).map((d) => Array.from(d));
  writeFileSync(path.join(args['out-dir'], 'reference_descriptors.json'), `${JSON.stringify({
    ...common,
    input: 'recognition_crops.npy: uint8 (N,150,150,3) RGB, passed as int32 tf.Tensor3D to FaceRecognitionNet.computeFaceDescriptor',
    crops: names,
    descriptors: list,
  })}\n`);
  console.log(`wrote ${list.length} descriptors (128-d) to ${args['out-dir']}`);
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}, expected cpu`);

  const net = new faceapi.FaceExpressionNet();
  net.loadFromWeightMap(loadWeights('face_expression_model'));

  const inputs = readTensors(args.crops, 112);
  const n = inputs.length;
  const names = JSON.parse(readFileSync(path.join(path.dirname(args.crops), 'crops.json'), 'utf8'));

  // face-api's public API: NetInput -> normalise -> features -> fc -> softmax.
  const predictions = await net.predictExpressions(inputs);
  const netInput = await faceapi.toNetInput(inputs);
  const featureTensor = net.faceFeatureExtractor.forwardInput(netInput);
  const features = featureTensor.reshape([n, -1]).arraySync();
  featureTensor.dispose();
  inputs.forEach((t) => t.dispose());

  const labels = faceapi.FACE_EXPRESSION_LABELS;
  const probabilities = predictions.map((p) => labels.map((label) => p[label]));
  const versions = {
    '@vladmandic/face-api': faceapi.version,
    '@tensorflow/tfjs': tf.version.tfjs,
    '@tensorflow/tfjs-core': tf.version['tfjs-core'],
    '@tensorflow/tfjs-backend-cpu': tf.version['tfjs-backend-cpu'],
    node: process.version,
  };
  const common = {
    generator: 'tools/faceapi_reference/reference.mjs',
    versions,
    backend: tf.getBackend(),
    input: 'crops.npy: uint8 (N,112,112,3) RGB, passed as int32 tf.Tensor3D to FaceExpressionNet.predictExpressions',
    weights_sha256: PINNED_SHA256,
    crops: names,
  };
  mkdirSync(args['out-dir'], { recursive: true });
  writeFileSync(path.join(args['out-dir'], 'reference_probabilities.json'),
    `${JSON.stringify({ ...common, classes: labels, probabilities }, null, 1)}\n`);
  writeFileSync(path.join(args['out-dir'], 'reference_features.json'),
    `${JSON.stringify({ ...common, features })}\n`);
  probabilities.forEach((p, i) => {
    const top = p.indexOf(Math.max(...p));
    console.log(`${names[i].padEnd(24)} ${labels[top].padEnd(10)} ${p[top].toFixed(4)}`);
  });
  console.log(`wrote ${n} results to ${args['out-dir']} (backend ${tf.getBackend()}, tfjs ${tf.version.tfjs}, face-api ${faceapi.version})`);
  await descriptors(common);
}

main().catch((err) => { console.error(err); process.exit(1); });
