// The demo page: drawing and input here, every computation in worker.mjs.
import { Rng, resizeArea } from '../build/src/index.js';

const NETS = [
  { name: 'maml', label: 'MAML', color: 'var(--maml)' },
  { name: 'reptile', label: 'Reptile', color: 'var(--reptile)' },
  { name: 'joint', label: 'joint training', color: 'var(--joint)' },
];
const STEPS = 10;
const params = new URLSearchParams(location.search);
// Every random draw of the page comes from this generator: ?seed=N makes a visit repeatable.
const rng = new Rng(Number(params.get('seed') ?? Date.now() % 2 ** 31));
const $ = (id) => document.getElementById(id);
const svgNS = 'http://www.w3.org/2000/svg';

const worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
let nextId = 0;
const waiting = new Map();
function ask(message) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ ...message, id });
  });
}
let ready;
const started = new Promise((resolve, reject) => (ready = { resolve, reject }));
worker.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'ready') return ready.resolve(m);
  if (m.type === 'failed' && m.id === undefined) return ready.reject(new Error(m.error));
  const w = waiting.get(m.id);
  if (w === undefined) return;
  waiting.delete(m.id);
  if (m.type === 'failed') w.reject(new Error(m.error));
  else w.resolve(m);
};
worker.onerror = (e) => ready.reject(new Error(e.message || 'the worker failed to start'));

function showStatus(text, failed = false) {
  $('status').textContent = text;
  $('status').classList.toggle('failed', failed);
}

// ---- Sine panel ----
const plot = $('plot');
const W = 600, H = 360, M = { left: 36, right: 10, top: 10, bottom: 26 };
const X = [-5, 5], Y = [-6, 6];
const sx = (x) => M.left + ((x - X[0]) / (X[1] - X[0])) * (W - M.left - M.right);
const sy = (y) => H - M.bottom - ((y - Y[0]) / (Y[1] - Y[0])) * (H - M.top - M.bottom);
const gridX = Array.from({ length: 200 }, (_, i) => X[0] + ((X[1] - X[0]) * i) / 199);
let points = [];
let truth = null;
let result = null;
let animation = null;
let pending = 0;

function el(name, attrs, parent) {
  const e = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}
const path = (xs, ys) => xs.map((x, i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(Math.max(Y[0], Math.min(Y[1], ys[i]))).toFixed(1)}`).join('');

function drawPlot() {
  plot.replaceChildren();
  el('line', { x1: sx(X[0]), x2: sx(X[1]), y1: sy(0), y2: sy(0), stroke: '#ccc' }, plot);
  el('line', { x1: sx(0), x2: sx(0), y1: sy(Y[0]), y2: sy(Y[1]), stroke: '#ccc' }, plot);
  for (const t of [-4, -2, 2, 4]) el('text', { x: sx(t), y: H - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#777' }, plot).textContent = String(t);
  for (const t of [-4, -2, 2, 4]) el('text', { x: M.left - 6, y: sy(t) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#777' }, plot).textContent = String(t);
  if (truth !== null) el('path', { d: path(gridX, gridX.map(truth)), fill: 'none', stroke: '#222', 'stroke-dasharray': '5 4', 'stroke-width': 1.5, class: 'truth' }, plot);
  const step = Number($('steps').value);
  if (result !== null) {
    for (const net of NETS) {
      const r = result[net.name];
      const k = Math.min(step, r.curves.length - 1);
      el('path', { d: path(gridX, r.curves[k]), fill: 'none', stroke: net.color, 'stroke-width': 2.2, class: `curve ${net.name}` }, plot);
    }
  }
  for (const [x, y] of points) el('circle', { cx: sx(x), cy: sy(y), r: 4.5, fill: '#2ca02c', stroke: '#fff', class: 'point' }, plot);
  const legend = el('g', { transform: `translate(${M.left + 8},${M.top + 8})` }, plot);
  NETS.forEach((net, i) => {
    el('rect', { x: 0, y: i * 16, width: 14, height: 3, fill: net.color }, legend);
    el('text', { x: 20, y: i * 16 + 5, 'font-size': 12 }, legend).textContent = net.label;
  });
}

function drawTable() {
  const step = Number($('steps').value);
  $('step').textContent = `step ${step} of ${STEPS}`;
  const rows = NETS.map((net) => {
    const r = result?.[net.name];
    const losses = r?.losses ?? [];
    const fmt = (v) => (v === undefined ? '–' : v.toFixed(3));
    return `<tr data-net="${net.name}"><td><span class="swatch" style="background:${net.color}"></span>${net.label}</td><td class="num">${r?.lr ?? '–'}</td><td class="num before">${fmt(losses[0])}</td><td class="num after">${fmt(losses[Math.min(step, losses.length - 1)])}</td></tr>`;
  });
  $('sine-table').tBodies[0].innerHTML = rows.join('');
}

function render() {
  drawPlot();
  drawTable();
}

/** Adapts the three networks to the points, then plays the steps. */
async function adaptToPoints() {
  const mine = ++pending;
  const r = await ask({ type: 'sine', points, steps: points.length === 0 ? 0 : STEPS });
  if (mine !== pending) return; // newer points are on their way
  result = r.nets;
  clearInterval(animation);
  $('steps').value = '0';
  render();
  if (points.length === 0) return;
  animation = setInterval(() => {
    const s = Number($('steps').value) + 1;
    $('steps').value = String(s);
    render();
    if (s >= STEPS) {
      clearInterval(animation);
      plot.dataset.adapted = String(points.length);
    }
  }, 120);
}

plot.addEventListener('click', (e) => {
  const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(plot.getScreenCTM().inverse());
  const x = X[0] + ((p.x - M.left) / (W - M.left - M.right)) * (X[1] - X[0]);
  const y = Y[0] + ((H - M.bottom - p.y) / (H - M.top - M.bottom)) * (Y[1] - Y[0]);
  if (x < X[0] || x > X[1] || y < Y[0] || y > Y[1]) return;
  points.push([x, y]);
  render();
  void adaptToPoints().catch(fail);
});
$('random').addEventListener('click', () => {
  // The MAML paper's tasks: amplitude U[0.1, 5], phase U[0, π]; ten points x ~ U[-5, 5].
  const amplitude = 0.1 + 4.9 * rng.uniform();
  const phase = Math.PI * rng.uniform();
  truth = (x) => amplitude * Math.sin(x + phase);
  points = Array.from({ length: 10 }, () => {
    const x = -5 + 10 * rng.uniform();
    return [x, truth(x)];
  });
  render();
  void adaptToPoints().catch(fail);
});
$('clear').addEventListener('click', () => {
  points = [];
  truth = null;
  delete plot.dataset.adapted;
  void adaptToPoints().catch(fail);
});
$('steps').addEventListener('input', () => {
  clearInterval(animation);
  render();
});

// ---- Omniglot panel ----
const SIDE = 105; // Omniglot's drawings are 105×105; the network sees them at 28×28
const pads = [];
function makePad(parent, label) {
  const box = document.createElement('div');
  box.className = 'pad';
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIDE;
  canvas.setAttribute('aria-label', label);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const clear = () => {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, SIDE, SIDE);
    pad.inked = false;
    updateClassify();
  };
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'clear';
  button.addEventListener('click', clear);
  const caption = document.createElement('span');
  caption.textContent = label;
  box.append(caption, canvas, button);
  parent.appendChild(box);
  const pad = { canvas, ctx, inked: false, clear };
  let last = null;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * SIDE, ((e.clientY - r.top) / r.height) * SIDE];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (last === null) return;
    const p = at(e);
    ctx.strokeStyle = '#000';
    ctx.lineWidth = 3.5;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
    if (!pad.inked) {
      pad.inked = true;
      updateClassify();
    }
  });
  const end = () => (last = null);
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  clear();
  return pad;
}
function updateClassify() {
  $('classify').disabled = pads.length < 6 || pads.some((p) => !p.inked) || $('status').dataset.ready !== 'true';
}
for (let i = 0; i < 5; i++) pads.push(makePad($('support'), `box ${i + 1}`));
pads.push(makePad($('query'), 'which one is this?'));

/** A pad's drawing as the network sees it: ink 1 on paper 0, area-averaged to 28×28. */
function ink(pad) {
  const rgba = pad.ctx.getImageData(0, 0, SIDE, SIDE).data;
  const gray = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < gray.length; i++) gray[i] = 1 - rgba[4 * i] / 255;
  return Array.from(resizeArea(gray, SIDE, 28));
}

$('classify').addEventListener('click', async () => {
  $('prediction').textContent = 'Adapting…';
  try {
    const { probabilities } = await ask({ type: 'classify', support: pads.slice(0, 5).map(ink), query: ink(pads[5]) });
    const best = probabilities.indexOf(Math.max(...probabilities));
    $('prediction').textContent = `It is box ${best + 1} (${(100 * probabilities[best]).toFixed(1)}%).`;
    $('prediction').dataset.best = String(best + 1);
    $('probabilities').innerHTML = probabilities
      .map((p, i) => `<div class="bar${i === best ? ' best' : ''}" data-box="${i + 1}"><span>box ${i + 1}</span><div style="width:${(100 * p).toFixed(1)}%"></div><span class="p">${(100 * p).toFixed(1)}%</span></div>`)
      .join('');
  } catch (e) {
    fail(e);
  }
});
$('clear-all').addEventListener('click', () => {
  for (const p of pads) p.clear();
  $('prediction').textContent = '';
  delete $('prediction').dataset.best;
  $('probabilities').replaceChildren();
});

function fail(e) {
  showStatus(`Something failed: ${e.message}`, true);
}

render();
started.then(
  (info) => {
    const c = info.omniglot.config;
    $('omni-steps').textContent = String(c.evalSteps);
    showStatus(`Ready: kernels ${info.variant}; Omniglot network: MAML ${c.nWay}-way ${c.kShot}-shot, ${info.omniglot.iteration.toLocaleString('en')} meta-iterations.`);
    $('status').dataset.ready = 'true';
    updateClassify();
    return adaptToPoints();
  },
  fail,
);
