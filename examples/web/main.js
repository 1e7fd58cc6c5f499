// Loads the bundled LeNet, runs it on its recorded input, shows the input,
// the ten output values, the class and whether the bytes are the recorded
// ones. Served from the repository's root (examples/web/serve.mjs).
import { Model } from '../../js/index.js';

const modelDir = '../models/lenet_28/';
const status = document.getElementById('status');

async function bytes(name) {
  const response = await fetch(modelDir + name);
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function drawInput(input) {
  // int8 pixels, 28 x 28: -127..127 shown as black..white.
  const canvas = document.getElementById('image');
  const context = canvas.getContext('2d');
  const image = context.createImageData(28, 28);
  const values = new Int8Array(input.buffer, input.byteOffset, input.length);
  for (let i = 0; i < 28 * 28; ++i) {
    const v = values[i] + 128;
    image.data.set([v, v, v, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

try {
  const [symbol, params, input, recorded] = await Promise.all(
    ['symbol.json', 'params.bin', 'input.bin', 'output.bin'].map(bytes));
  const model = await Model.load(symbol, params);
  const output = model.inferBytes(input);
  drawInput(input);
  const scores = new Int8Array(output.buffer, output.byteOffset, output.length);
  let best = 0;
  for (let i = 1; i < scores.length; ++i) if (scores[i] > scores[best]) best = i;
  const same = output.length === recorded.length && output.every((b, i) => b === recorded[i]);
  status.textContent = `class ${best}; output bytes ${same ? 'identical to' : 'DIFFERENT from'} ` +
    `the recorded ones; gas ${model.gas}`;
  status.className = same ? 'ok' : 'bad';
  const table = document.getElementById('scores');
  table.innerHTML = '<tr><th>class</th><th>output</th></tr>' + Array.from(scores, (s, i) =>
    `<tr class="${i === best ? 'best' : ''}"><td>${i}</td><td>${s}</td></tr>`).join('');
  document.title = same ? 'cvm: ok' : 'cvm: different';
  model.free();
} catch (e) {
  status.textContent = `error${e.code ? ` (code ${e.code})` : ''}: ${e.message}`;
  status.className = 'bad';
  document.title = 'cvm: error';
}
