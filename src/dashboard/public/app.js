// @ts-check
import {
  Chart, LATENCY_CHART_TASKS, depthChart, fillChart, latencyChart, learnFillThresholds, rejectionsChart, slotsChart, throughputChart,
} from './charts.js';
import { History } from './history.js';
import { StatusStream, errorMessage } from './status-stream.js';
import { byId, renderAlerts, renderConnection, renderTasks, renderTiles, renderWorkers } from './view.js';

/**
 * The dashboard page: one status fetch for a first paint at once, then the live stream.
 *
 * API keys: when the gateway has keys, /v1 needs `Authorization: Bearer <key>`. The page asks
 * for the key on the first 401 and keeps it in sessionStorage — this tab only, gone when the tab
 * closes, never in a URL or a cookie.
 */

const KEY_STORAGE = 'sluice.apiKey';
/** A live stream sends a snapshot a second; this long without one marks the figures stale. */
const STALE_MS = 3_500;

function apiHeaders() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { authorization: `Bearer ${key}` } : {};
}

const history = new History();
const latency = new Chart(byId('chart-latency'), latencyChart([]));
const charts = [
  new Chart(byId('chart-fill'), fillChart),
  new Chart(byId('chart-depth'), depthChart),
  new Chart(byId('chart-throughput'), throughputChart),
  new Chart(byId('chart-rejections'), rejectionsChart),
  latency,
  new Chart(byId('chart-slots'), slotsChart),
];
let latencyTasks = '';
let lastSnapshotAt = 0;
/** @type {import('./status-stream.js').StreamState} */
let streamState = 'connecting';

/** @param {import('./history.js').StatusSnapshot} snapshot */
function onSnapshot(snapshot) {
  if (!history.push(snapshot)) return;
  lastSnapshotAt = Date.now();
  // How long the page takes to show figures, for anyone measuring it (the browser test does).
  if (history.length === 1) performance.mark('sluice:first-figures');
  learnFillThresholds(snapshot);
  renderTiles(snapshot);
  renderAlerts(snapshot);
  renderWorkers(snapshot);
  renderTasks(snapshot);
  const names = history.taskNames().slice(0, LATENCY_CHART_TASKS);
  if (names.join('\n') !== latencyTasks) {
    latencyTasks = names.join('\n');
    latency.respec(latencyChart(names));
  }
  for (const chart of charts) chart.update(history);
  if (streamState === 'live') renderConnection('live');
}

/**
 * Alert raise/clear events (`{ change, time, alert }`), newest first, as they arrive.
 * @param {{ change?: string, time?: number, alert?: { level?: string, message?: string } }} event
 */
function onAlertEvent(event) {
  const log = byId('alert-log');
  const item = document.createElement('li');
  const time = document.createElement('time');
  const at = typeof event?.time === 'number' ? event.time : Date.now();
  time.dateTime = new Date(at).toISOString();
  time.textContent = new Date(at).toLocaleTimeString();
  const change = String(event?.change ?? '');
  item.dataset.change = change;
  item.dataset.level = String(event?.alert?.level ?? '');
  const what = change === 'cleared' ? 'cleared' : `${event?.alert?.level ?? ''} raised`;
  item.append(time, ` ${what}: `, String(event?.alert?.message ?? ''));
  log.prepend(item);
  while (log.children.length > 20) log.lastElementChild?.remove();
  byId('alert-log-section').hidden = false;
}

const stream = new StatusStream({
  url: '/v1/status/stream',
  headers: apiHeaders,
  onEvent(event, data) {
    if (event === 'status') onSnapshot(/** @type {any} */ (data));
    else if (event === 'alert') onAlertEvent(data);
  },
  onState(state, detail) {
    streamState = state;
    renderConnection(state, detail);
    if (state === 'unauthorized') askForKey(detail);
  },
});

/** @param {string} [reason] */
function askForKey(reason) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('key-dialog'));
  byId('key-reason').textContent = reason ?? '';
  if (!dialog.open) dialog.showModal();
}

byId('key-form').addEventListener('submit', () => {
  const input = /** @type {HTMLInputElement} */ (byId('key-input'));
  const key = input.value.trim();
  input.value = '';
  if (key === '') sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
  void firstPaint();
  stream.retryNow();
});
byId('key-button').addEventListener('click', () => askForKey(sessionStorage.getItem(KEY_STORAGE) ? 'A key is set for this tab; enter another, or leave empty to forget it.' : ''));

async function firstPaint() {
  try {
    const response = await fetch('/v1/status', { headers: apiHeaders(), cache: 'no-store' });
    if (response.ok) onSnapshot(await response.json());
    else if (response.status === 401) askForKey(await errorMessage(response));
  } catch {
    // The stream reports the connection state and keeps retrying.
  }
}

setInterval(() => {
  if (streamState === 'live' && lastSnapshotAt !== 0 && Date.now() - lastSnapshotAt > STALE_MS) renderConnection('stale', 'no snapshot for a few seconds');
}, 1_000);

void firstPaint();
stream.start();
