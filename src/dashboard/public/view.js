// @ts-check
import { formatCount, formatDuration, formatMs, formatPercent } from './format.js';
import { rejectedRate } from './history.js';

/**
 * Everything on the page but the charts, written from the latest snapshot. Text goes in with
 * textContent only: task and worker names come from the network.
 *
 * @typedef {import('./history.js').StatusSnapshot} StatusSnapshot
 */

/** @param {string} id @returns {HTMLElement} */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}

/** @param {string} id @param {string} text */
function setText(id, text) {
  const element = byId(id);
  if (element.textContent !== text) element.textContent = text;
}

/** @param {StatusSnapshot} s */
export function renderTiles(s) {
  const fill = byId('tile-fill');
  fill.dataset.fill = String(s.queue.fill);
  // The manager decides (with hysteresis) whether the fill is alarming; the tile agrees with it.
  const fillAlerts = s.alerts.filter((a) => a.kind === 'fill');
  fill.dataset.level = fillAlerts.some((a) => a.level === 'critical') ? 'critical' : fillAlerts.length > 0 ? 'warning' : 'ok';
  setText('fill', formatPercent(s.queue.fill));
  setText('fill-detail', `${formatCount(s.queue.total)} of ${formatCount(s.queue.bound)} queued`);
  setText('bound', formatCount(s.queue.bound));
  setText('bound-detail', s.queue.boundReason === 'latency'
    ? `latency bound (${formatMs(s.maxLatencyMs)}); cap ${formatCount(s.queue.cap)}`
    : `hard cap ${formatCount(s.queue.cap)}`);
  setText('slots', `${formatCount(s.capacity.busy)} / ${formatCount(s.capacity.slots)}`);
  setText('slots-detail', `${s.capacity.workers} worker node${s.capacity.workers === 1 ? '' : 's'}`);
  setText('admitted', `${formatCount(s.rates.admitted)}/s`);
  setText('admitted-detail', `${formatCount(s.rates.completed)}/s completed, ${formatCount(s.rates.failed)}/s failed`);
  const rejected = rejectedRate(s);
  setText('rejected', `${formatCount(rejected)}/s`);
  byId('tile-rejected').dataset.level = rejected > 0 ? 'warning' : 'ok';
  const reasons = Object.entries(s.rates.rejected).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${formatCount(n)}/s`);
  setText('rejected-detail', reasons.length === 0 ? `${formatCount(sumValues(s.totals.rejected))} since start` : reasons.join(', '));
  setText('manager', `manager ${s.managerId} · up ${formatDuration(s.uptimeMs)}`);
  byId('manager').dataset.managerId = s.managerId;
}

/** @param {Record<string, number>} values */
function sumValues(values) {
  let sum = 0;
  for (const n of Object.values(values)) sum += n;
  return sum;
}

/** The banner: one line per active alert, worst first; hidden when healthy. @param {StatusSnapshot} s */
export function renderAlerts(s) {
  const banner = byId('alerts');
  const alerts = [...s.alerts].sort((a, b) => (a.level === b.level ? a.since - b.since : a.level === 'critical' ? -1 : 1));
  banner.hidden = alerts.length === 0;
  banner.dataset.level = alerts[0]?.level ?? 'ok';
  banner.dataset.kinds = [...new Set(alerts.map((a) => a.kind))].join(' ');
  const list = byId('alert-list');
  list.replaceChildren(...alerts.map((alert) => {
    const item = document.createElement('li');
    item.dataset.level = alert.level;
    const level = document.createElement('strong');
    level.textContent = alert.level === 'critical' ? 'Critical' : 'Warning';
    const since = document.createElement('span');
    since.className = 'muted';
    since.textContent = ` for ${formatDuration(Math.max(0, s.time - alert.since))}`;
    item.append(level, ` ${alert.message}`, since);
    return item;
  }));
  setText('health', s.healthy ? 'healthy' : 'alerting');
  byId('health').dataset.level = s.healthy ? 'ok' : (alerts[0]?.level ?? 'warning');
}

/**
 * @param {HTMLTableSectionElement} body
 * @param {Array<Array<string | Node>>} rows
 * @param {string} empty
 * @param {number} columns
 */
function fillTable(body, rows, empty, columns) {
  if (rows.length === 0) {
    const cell = document.createElement('td');
    cell.colSpan = columns;
    cell.className = 'muted';
    cell.textContent = empty;
    const row = document.createElement('tr');
    row.append(cell);
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(...rows.map((cells) => {
    const row = document.createElement('tr');
    for (const content of cells) {
      const cell = document.createElement('td');
      cell.append(content);
      row.append(cell);
    }
    return row;
  }));
}

/** A slot bar: busy of capacity, with the numbers beside it. @param {number} busy @param {number} capacity */
function slotBar(busy, capacity) {
  const wrap = document.createElement('span');
  wrap.className = 'slot-bar';
  const meter = document.createElement('meter');
  meter.min = 0;
  meter.max = Math.max(1, capacity);
  meter.value = busy;
  meter.high = meter.max * 0.99;
  const label = document.createElement('span');
  label.textContent = `${busy} / ${capacity}`;
  wrap.append(meter, label);
  return wrap;
}

/** @param {StatusSnapshot} s */
export function renderWorkers(s) {
  const body = /** @type {HTMLTableSectionElement} */ (byId('workers-body'));
  body.parentElement?.setAttribute('data-rows', String(s.workers.length));
  const workers = [...s.workers].sort((a, b) => b.busy - a.busy || (a.id < b.id ? -1 : 1));
  fillTable(body, workers.map((w) => [
    w.name === undefined ? w.id : `${w.name} (${w.id})`,
    slotBar(w.busy, w.capacity),
    formatMs(w.recentServiceMs),
    formatDuration(s.time - w.connectedSince),
  ]), 'No worker nodes connected: nothing can run.', 4);
}

/** @param {StatusSnapshot} s */
export function renderTasks(s) {
  const body = /** @type {HTMLTableSectionElement} */ (byId('tasks-body'));
  const tasks = [...s.tasks].sort((a, b) => b.completed + b.failed - (a.completed + a.failed) || (a.name < b.name ? -1 : 1));
  fillTable(body, tasks.map((t) => [
    t.name,
    formatCount(t.completed),
    formatCount(t.failed),
    `${formatMs(t.waitMs.p50)} / ${formatMs(t.waitMs.p99)}`,
    `${formatMs(t.serviceMs.p50)} / ${formatMs(t.serviceMs.p99)}`,
  ]), 'No task has run yet.', 5);
}

/**
 * The connection pill, and whether the figures are current.
 * @param {import('./status-stream.js').StreamState | 'stale'} state
 * @param {string} [detail]
 */
export function renderConnection(state, detail) {
  const pill = byId('connection');
  pill.dataset.state = state;
  const text = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', unauthorized: 'API key needed', stale: 'no data' }[state];
  pill.textContent = text;
  pill.title = detail ?? '';
  document.body.dataset.connection = state;
}
