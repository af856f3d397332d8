/** Options of {@link renderDashboardPage}. */
export interface DashboardPageOptions {
  /** CSP nonce of the inline script and style; fresh per response. */
  nonce: string;
  /** Page title. Default `Sluice readiness`. */
  title?: string;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}

// The page builds every element with textContent, never innerHTML, so a route name or an error
// message from a provider can never inject markup. It holds no data itself: all of it arrives
// over SSE, and the token (when there is one) is read from the page's own URL.
const STYLE = `
:root { color-scheme: dark; --bg:#0f1419; --panel:#171e26; --line:#2a3440; --text:#d7dde4;
  --dim:#8593a3; --ready:#3fb950; --degraded:#d29922; --failing:#f85149; --idle:#6e7681;
  --active:#58a6ff; --queued:#f0883e; }
* { box-sizing: border-box; }
body { margin:0; padding:20px 24px; background:var(--bg); color:var(--text);
  font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display:flex; align-items:baseline; gap:16px; margin-bottom:16px; }
h1 { font-size:20px; margin:0; font-weight:600; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim);
  margin:0 0 10px; font-weight:600; }
.meta { color:var(--dim); font-size:12px; }
.conn { display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--idle);
  margin-right:6px; }
.conn.live { background:var(--ready); }
.grid { display:grid; grid-template-columns: minmax(0,1.1fr) minmax(0,1fr); gap:16px; }
.panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
.wide { grid-column: 1 / -1; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; color:var(--dim); font-weight:500; padding:4px 8px; border-bottom:1px solid var(--line); }
td { padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
tr.note td { border-bottom:1px solid var(--line); color:var(--dim); font-size:12px; padding-top:0; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600;
  background:#222b35; }
.s-ready { color:var(--ready); } .s-degraded, .s-model-not-in-catalog { color:var(--degraded); }
.s-failing, .s-invalid-route, .s-missing-credential { color:var(--failing); } .s-not-checked { color:var(--idle); }
.fix { color:var(--text); } .fix b { color:var(--degraded); font-weight:600; }
.gauges { display:flex; flex-wrap:wrap; gap:14px; }
.gauge { width:200px; text-align:center; }
.gauge .name { font-weight:600; } .gauge .sub { color:var(--dim); font-size:12px; }
.gauge .cool { color:var(--degraded); font-size:12px; min-height:18px; }
.chip { display:inline-block; margin:0 4px 2px 0; padding:0 6px; border-radius:8px; background:#2d1b1b;
  color:#ffa198; font-size:12px; }
.legend span { margin-right:14px; font-size:12px; color:var(--dim); }
.legend i { display:inline-block; width:10px; height:3px; margin-right:5px; vertical-align:middle; }
.legend i.la { background:var(--active); } .legend i.lq { background:var(--queued); }
ul.tree { list-style:none; padding-left:18px; margin:4px 0; }
ul.tree.root { padding-left:0; }
.node { padding:2px 0; } .node .nm { font-weight:600; } .node .st { color:var(--dim); font-size:12px; }
.empty { color:var(--dim); font-size:13px; }
.kv { font-variant-numeric: tabular-nums; }
`;

const SCRIPT = `
(() => {
  const token = new URLSearchParams(location.search).get('token');
  const withToken = (path) => token ? path + '?token=' + encodeURIComponent(token) : path;
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  let latest = null, receivedAt = 0;

  function h(tag, attrs, ...children) {
    const el = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  const ms = (v) => v == null ? '-' : v < 1000 ? Math.round(v) + ' ms' : (Math.round(v / 100) / 10) + ' s';
  const pair = (a, b) => a == null && b == null ? '-' : ms(a) + ' / ' + ms(b);
  const ago = (t) => t == null ? '-' : ms(Math.max(0, Date.now() - t)) + ' ago';
  const notReady = (s) => s !== 'ready';

  function renderRoutes(s) {
    const body = $('routes-body');
    body.replaceChildren();
    for (const r of s.routes) {
      const b = r.budget;
      const chips = Object.entries(r.recent.failuresByKind).map(([k, n]) => h('span', { class: 'chip' }, k + ' ' + n));
      body.append(h('tr', { 'data-route': r.name, 'data-state': r.state },
        h('td', {}, h('span', { class: 'badge s-' + r.state }, r.state)),
        h('td', {}, r.name + (r.isDefault ? ' *' : '')),
        h('td', {}, r.instance ? r.instance + ' (' + r.providerId + ')' : '-'),
        h('td', {}, r.model || '-', r.catalog ? h('div', { class: 'meta' }, 'context ' + r.catalog.contextWindow.toLocaleString('en-US') + ' · output ' + r.catalog.maxOutputTokens.toLocaleString('en-US')) : null),
        h('td', { class: 'kv' }, b ? b.active + ' / ' + (b.limit || '∞') + (b.queued ? ' · ' + b.queued + ' queued' : '') : '-'),
        h('td', { class: 'kv' }, b ? pair(b.leaseWaitP50Ms, b.leaseWaitP95Ms) : '-'),
        h('td', { class: 'kv' }, pair(r.recent.ttftP50Ms, r.recent.ttftP95Ms)),
        h('td', {}, chips.length ? chips : '-'),
        h('td', { class: 'meta' }, r.recent.lastSuccessAt ? 'ok ' + ago(r.recent.lastSuccessAt) : '-')));
      if (notReady(r.state)) {
        body.append(h('tr', { class: 'note', 'data-note-for': r.name }, h('td', { colspan: 9 },
          h('div', {}, r.reason),
          r.fix ? h('div', { class: 'fix' }, h('b', {}, 'fix '), r.fix) : null,
          r.recent.lastError ? h('div', {}, 'last error ' + r.recent.lastError.kind + ' (' + r.recent.lastError.code + ') ' + ago(r.recent.lastError.at) + ': ' + r.recent.lastError.message) : null)));
      }
    }
  }

  function gaugeSvg(p) {
    const pct = p.limit > 0 ? Math.min(100, (p.active / p.limit) * 100) : (p.active > 0 ? 100 : 0);
    const color = p.cooldownRemainingMs > 0 ? 'var(--degraded)' : pct >= 100 ? 'var(--queued)' : 'var(--active)';
    const arc = 'M 20 90 A 70 70 0 0 1 160 90';
    return h('svg:svg', { viewBox: '0 0 180 100', width: 180, height: 100, role: 'img', 'aria-label': p.key + ' in flight' },
      h('svg:path', { d: arc, fill: 'none', stroke: '#2a3440', 'stroke-width': 14, 'stroke-linecap': 'round' }),
      h('svg:path', { class: 'gauge-arc', d: arc, fill: 'none', stroke: color, 'stroke-width': 14, 'stroke-linecap': 'round',
        pathLength: 100, 'stroke-dasharray': pct + ' 100', 'data-pct': pct.toFixed(1) }),
      h('svg:text', { x: 90, y: 78, 'text-anchor': 'middle', fill: '#d7dde4', 'font-size': 24, 'font-weight': 600 },
        p.active + ' / ' + (p.limit || '∞')),
      h('svg:text', { x: 90, y: 96, 'text-anchor': 'middle', fill: '#8593a3', 'font-size': 11 }, 'in flight'));
  }

  function renderGauges(s) {
    const box = $('gauges');
    box.replaceChildren();
    if (!s.providers.length) box.append(h('div', { class: 'empty' }, 'No provider budgets.'));
    for (const p of s.providers) {
      box.append(h('div', { class: 'gauge', 'data-budget': p.key, 'data-active': p.active, 'data-limit': p.limit, 'data-queued': p.queued },
        h('div', { class: 'name' }, p.instance ? p.instance + ' · ' + (p.displayName || p.providerId) : p.key),
        gaugeSvg(p),
        h('div', { class: 'sub kv' }, 'queued ' + p.queued + ' · ' + p.backend + (p.health ? ' (' + p.health.state + ')' : '')),
        h('div', { class: 'sub kv' }, 'lease wait p50/p95 ' + pair(p.leaseWaitP50Ms, p.leaseWaitP95Ms)),
        p.adaptive ? h('div', { class: 'sub kv', 'data-adaptive': p.limit }, 'adaptive ' + p.adaptive.min + '-' + p.adaptive.max + (p.adaptive.lastReason ? ': ' + p.adaptive.lastReason : '')) : null,
        h('div', { class: 'cool kv', 'data-cooldown-ms': p.cooldownRemainingMs })));
    }
    tickCooldowns();
  }

  function tickCooldowns() {
    const elapsed = Date.now() - receivedAt;
    for (const el of document.querySelectorAll('.cool[data-cooldown-ms]')) {
      const left = Number(el.getAttribute('data-cooldown-ms')) - elapsed;
      el.textContent = left > 0 ? 'cooldown ' + (left / 1000).toFixed(1) + ' s' : '';
    }
  }

  function renderChart(s) {
    const svg = $('chart');
    const W = 640, H = 180, L = 34, R = 8, T = 10, B = 22;
    const samples = s.history.samples;
    const last = samples[samples.length - 1];
    $('chart-now').textContent = last ? 'now: ' + last.active + ' in flight · ' + last.queued + ' queued' : '';
    const end = s.generatedAt, start = end - s.history.windowMs;
    const limitSum = s.providers.reduce((n, p) => n + p.limit, 0);
    // The highest limit each provider had in the window, so a limit that came down still fits.
    const peakLimitSum = s.providers.reduce((n, p) => n + Math.max(p.limit, ...(p.adaptive ? p.adaptive.history.filter((c) => c.at > start).map((c) => c.previous) : [])), 0);
    const top = Math.max(1, limitSum, peakLimitSum, ...samples.map((x) => Math.max(x.active, x.queued)));
    const x = (t) => L + ((t - start) / (end - start)) * (W - L - R);
    const y = (v) => T + (1 - v / top) * (H - T - B);
    const line = (key) => samples.map((p) => x(p.at).toFixed(1) + ',' + y(p[key]).toFixed(1)).join(' ');
    // Adaptive budgets move their limit: the dashed limit line follows the sum of limits over time.
    const limitAt = (p, t) => {
      const changes = p.adaptive ? p.adaptive.history : [];
      let value = changes.length ? changes[0].previous : p.limit;
      for (const c of changes) if (c.at <= t) value = c.limit;
      return value;
    };
    const changeTimes = [...new Set(s.providers.flatMap((p) => p.adaptive ? p.adaptive.history.map((c) => c.at) : []))]
      .filter((t) => t > start && t <= end).sort((a, b) => a - b);
    const sumAt = (t) => s.providers.reduce((n, p) => n + limitAt(p, t), 0);
    const limitSteps = [start, ...changeTimes].map((t, i, all) => {
      const next = i + 1 < all.length ? all[i + 1] : end;
      const v = sumAt(t);
      return x(t).toFixed(1) + ',' + y(v).toFixed(1) + ' ' + x(next).toFixed(1) + ',' + y(v).toFixed(1);
    }).join(' ');
    svg.replaceChildren(
      h('svg:line', { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: '#2a3440' }),
      h('svg:line', { x1: L, x2: W - R, y1: y(top), y2: y(top), stroke: '#2a3440', 'stroke-dasharray': '3 4' }),
      limitSum > 0 && !changeTimes.length ? h('svg:line', { x1: L, x2: W - R, y1: y(limitSum), y2: y(limitSum), stroke: '#3fb95066', 'stroke-dasharray': '6 4' }) : null,
      changeTimes.length ? h('svg:polyline', { id: 'chart-limit', points: limitSteps, fill: 'none', stroke: '#3fb95066', 'stroke-dasharray': '6 4', 'data-changes': changeTimes.length }) : null,
      h('svg:text', { x: L - 6, y: y(top) + 4, 'text-anchor': 'end', fill: '#8593a3', 'font-size': 11 }, String(top)),
      h('svg:text', { x: L - 6, y: y(0) + 4, 'text-anchor': 'end', fill: '#8593a3', 'font-size': 11 }, '0'),
      h('svg:text', { x: L, y: H - 4, fill: '#8593a3', 'font-size': 11 }, '-' + (s.history.windowMs >= 60000 ? Math.round(s.history.windowMs / 60000) + ' min' : Math.round(s.history.windowMs / 1000) + ' s')),
      h('svg:text', { x: W - R, y: H - 4, 'text-anchor': 'end', fill: '#8593a3', 'font-size': 11 }, 'now'),
      h('svg:polyline', { id: 'chart-queued', points: line('queued'), fill: 'none', stroke: 'var(--queued)', 'stroke-width': 2, 'data-count': samples.length, 'data-max': Math.max(0, ...samples.map((p) => p.queued)) }),
      h('svg:polyline', { id: 'chart-active', points: line('active'), fill: 'none', stroke: 'var(--active)', 'stroke-width': 2, 'data-count': samples.length, 'data-max': Math.max(0, ...samples.map((p) => p.active)) }));
  }

  function renderFailures(s) {
    const box = $('failures');
    const totals = {};
    // Failed attempts, retried ones included: a 1302 that a retry got past is still the provider
    // pushing back, which is what this live chart is for. The table counts failed requests.
    for (const r of s.routes) for (const [k, n] of Object.entries(r.recent.failedAttemptsByKind || {})) totals[k] = (totals[k] || 0) + n;
    const entries = Object.entries(totals).sort((a, b) => b[1] - a[1]);
    box.replaceChildren();
    if (!entries.length) { box.append(h('div', { class: 'empty' }, 'No failed attempts in the recent window.')); return; }
    const max = Math.max(...entries.map((e) => e[1]));
    const svg = h('svg:svg', { viewBox: '0 0 300 ' + entries.length * 22, width: 300, height: entries.length * 22 });
    entries.forEach(([k, n], i) => {
      svg.append(h('svg:text', { x: 0, y: i * 22 + 15, fill: '#d7dde4', 'font-size': 12 }, k),
        h('svg:rect', { x: 110, y: i * 22 + 4, height: 14, rx: 3, width: Math.max(2, (n / max) * 160), fill: 'var(--failing)', 'data-kind': k, 'data-count': n }),
        h('svg:text', { x: 298, y: i * 22 + 15, fill: '#8593a3', 'font-size': 12, 'text-anchor': 'end' }, String(n)));
    });
    box.append(svg);
  }

  function renderNode(n) {
    const bits = [n.state, n.requests != null ? n.requests + ' req' : null, n.inFlight ? n.inFlight + ' in flight' : null,
      n.queued ? n.queued + ' queued' : null, n.failures ? n.failures + ' failed' : null, n.tokens != null ? n.tokens + ' tok' : null]
      .filter(Boolean).join(' · ');
    return h('li', { class: 'node', 'data-session': n.id }, h('span', { class: 'nm' }, n.name), ' ', h('span', { class: 'st' }, bits),
      n.children && n.children.length ? h('ul', { class: 'tree' }, n.children.map(renderNode)) : null);
  }

  function renderSessions(s) {
    const box = $('sessions');
    box.replaceChildren();
    if (!s.sessions || !s.sessions.length) { box.append(h('div', { class: 'empty' }, 'No fleet attached.')); return; }
    box.append(h('ul', { class: 'tree root' }, s.sessions.map(renderNode)));
  }

  function render(s) {
    latest = s; receivedAt = Date.now();
    $('generated').textContent = 'updated ' + new Date(s.generatedAt).toLocaleTimeString() + ' · default route ' + (s.defaultRoute || '-');
    renderRoutes(s); renderGauges(s); renderChart(s); renderFailures(s); renderSessions(s);
    document.body.setAttribute('data-updates', String(Number(document.body.getAttribute('data-updates') || 0) + 1));
  }

  function connect() {
    const source = new EventSource(withToken('/events'));
    source.onopen = () => $('conn').classList.add('live');
    source.onmessage = (e) => { try { render(JSON.parse(e.data)); } catch (err) { $('generated').textContent = 'bad update: ' + err; } };
    source.onerror = () => $('conn').classList.remove('live');
    source.addEventListener('snapshot-error', (e) => { $('generated').textContent = 'snapshot failed: ' + JSON.parse(e.data).message; });
  }
  setInterval(tickCooldowns, 200);
  connect();
})();
`;

/**
 * The dashboard's one HTML page: inline CSS, inline SVG built by vanilla JS, no framework and no
 * data (everything arrives over `/events`). Script and style carry `nonce`, which the server puts
 * in its Content-Security-Policy. The empty inline icon (allowed by the policy's `img-src data:`)
 * keeps the browser from asking for `/favicon.ico`, so loading the page makes no failed request.
 */
export function renderDashboardPage(options: DashboardPageOptions): string {
  const nonce = escapeHtml(options.nonce);
  const title = escapeHtml(options.title ?? 'Sluice readiness');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header><h1>${title}</h1><span class="meta"><span id="conn" class="conn"></span><span id="generated">connecting…</span></span></header>
<div class="grid">
  <section class="panel wide"><h2>Routes</h2>
    <table><thead><tr><th>State</th><th>Route</th><th>Provider</th><th>Model</th><th>In flight</th>
    <th>Lease wait p50/p95</th><th>TTFT p50/p95</th><th>Failures</th><th>Last success</th></tr></thead>
    <tbody id="routes-body"></tbody></table></section>
  <section class="panel"><h2>Provider budgets</h2><div id="gauges" class="gauges"></div></section>
  <section class="panel"><h2>In flight and queued</h2>
    <div class="legend"><span><i class="la"></i>in flight</span><span><i class="lq"></i>queued</span><span>dashed: sum of limits</span><span id="chart-now"></span></div>
    <svg id="chart" viewBox="0 0 640 180" width="100%" height="180" role="img" aria-label="in flight and queued over time"></svg></section>
  <section class="panel"><h2>Failed attempts by kind</h2><div id="failures"></div></section>
  <section class="panel"><h2>Sessions</h2><div id="sessions"></div></section>
</div>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
