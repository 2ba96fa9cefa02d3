// The commander console: sign-in, then a full-screen MapLibre map of the coverage API with
// panels. Everything comes from this origin; the API is called with the access token.
import maplibregl from 'maplibre-gl';
import './style.css';
import { t as tr, pickLanguage } from './lib/i18n.js';
import { colorExpression, cellColor, legend, MODE_COLORS } from './lib/colors.js';
import { clampWindow, coverageQuery, ALL_MODES } from './lib/timewin.js';
import { parseTrack, trackTime, positionAt, fraction, duration } from './lib/replay.js';
import { refreshDelayMs, sortRows, boundsOf, formatAge } from './lib/session.js';

const $ = (sel) => document.querySelector(sel);
const origin = location.origin;

const state = {
  lang: pickLanguage(localStorage.getItem('beatgrid.lang'), navigator.languages || []),
  session: JSON.parse(sessionStorage.getItem('beatgrid.session') || 'null'),
  refreshTimer: 0,
  map: null,
  colourBy: 'recency',
  modes: new Set(ALL_MODES),
  win: { fromH: 24, toH: 0 },
  beats: [], // features
  beatRows: [],
  sort: { key: 'percent', dir: 'desc' },
  users: new Map(),
  liveTimer: 0,
  replay: null,
  features: { alerts: null, hazards: null, reports: null },
};

const t = (key, vars) => tr(state.lang, key, vars);

// ---- language -------------------------------------------------------------------------
function applyLanguage() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const th of document.querySelectorAll('#beat-table th')) {
    th.querySelector('button').setAttribute('aria-label', t('sortBy', { col: th.textContent.trim() }));
  }
  renderToggles();
  renderLegend();
  renderWindow();
  if (state.beats.length) renderBeatSelect();
}

for (const b of document.querySelectorAll('.lang')) {
  b.addEventListener('click', () => {
    state.lang = state.lang === 'en' ? 'zh' : 'en';
    localStorage.setItem('beatgrid.lang', state.lang);
    applyLanguage();
  });
}

// ---- session ----------------------------------------------------------------------------
function saveSession(pair) {
  state.session = { access: pair.access_token, refresh: pair.refresh_token, expiresAt: Date.now() + pair.expires_in * 1000 };
  sessionStorage.setItem('beatgrid.session', JSON.stringify(state.session));
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, refreshDelayMs(pair.expires_in));
}

let refreshing = null;
function refresh() {
  if (!state.session?.refresh) return Promise.resolve(false);
  refreshing ??= fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: state.session.refresh }),
  })
    .then(async (r) => {
      if (!r.ok) return false;
      saveSession(await r.json());
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function api(path, opts = {}, retried = false) {
  const headers = { ...(opts.headers || {}), Authorization: `Bearer ${state.session?.access}` };
  const r = await fetch(path, { ...opts, headers });
  if (r.status === 401 && !retried) {
    if (await refresh()) return api(path, opts, true);
    signOut(t('sessionExpired'));
    throw new Error('signed out');
  }
  return r;
}

// getJSON returns the answer's JSON, null when the route does not exist (404 / 405 / 501):
// panels of features another part of the server may not have yet degrade to a note.
async function getJSON(path) {
  const r = await api(path);
  if (r.status === 404 || r.status === 405 || r.status === 501) return null;
  if (!r.ok) {
    let detail = r.statusText;
    try {
      detail = (await r.json()).detail || detail;
    } catch {}
    throw new Error(`${r.status} ${detail}`);
  }
  return r.json();
}

// pages follows next_cursor over a list (items or GeoJSON features).
async function pages(path) {
  const out = [];
  let cursor = '';
  for (let i = 0; i < 50; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const body = await getJSON(`${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (!body) return null;
    out.push(...(body.items || body.features || []));
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return out;
}

async function signIn(ev) {
  ev.preventDefault();
  const err = $('#login-error');
  const btn = $('#login-submit');
  err.textContent = '';
  btn.disabled = true;
  btn.textContent = t('signingIn');
  try {
    const r = await fetch('/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: $('#username').value.trim(), password: $('#password').value }),
    });
    if (!r.ok) {
      err.textContent = t('badLogin');
      $('#password').focus();
      return;
    }
    saveSession(await r.json());
    $('#password').value = '';
    start();
  } catch (e) {
    err.textContent = t('failed', { msg: e.message });
  } finally {
    btn.disabled = false;
    btn.textContent = t('signIn');
  }
}

function signOut(message = '') {
  const refreshToken = state.session?.refresh;
  if (refreshToken) {
    fetch('/v1/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: refreshToken }) }).catch(() => {});
  }
  state.session = null;
  sessionStorage.removeItem('beatgrid.session');
  clearTimeout(state.refreshTimer);
  clearInterval(state.liveTimer);
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message;
  $('#password').focus();
}

$('#login-form').addEventListener('submit', signIn);
$('#sign-out').addEventListener('click', () => signOut());

// ---- map ---------------------------------------------------------------------------------
const LAYERS = [
  { key: 'beats', label: 'layerBeats', ids: ['beats-fill', 'beats-line'], on: true },
  { key: 'coverage', label: 'layerCoverage', ids: ['coverage-fill'], on: true },
  { key: 'gaps', label: 'layerGaps', ids: ['gaps-fill', 'gaps-line', 'suggest-line'], on: true },
  { key: 'routes', label: 'layerRoutes', ids: ['routes-line', 'checkpoints'], on: true },
  { key: 'kiosks', label: 'layerKiosks', ids: ['segments-line', 'kiosks'], on: true },
  { key: 'units', label: 'layerUnits', ids: ['units'], on: true },
  { key: 'hazards', label: 'layerHazards', ids: ['hazards'], on: true },
];

function tileURL() {
  return `${origin}/v1/coverage/tiles/{z}/{x}/{y}.mvt?${coverageQuery(state.win, [...state.modes], Date.now())}`;
}

const emptyFC = () => ({ type: 'FeatureCollection', features: [] });

async function createMap() {
  const cfg = await fetch('/console/config.json').then((r) => r.json()).catch(() => ({}));
  const sources = {};
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#e9edf1' } }];
  if (cfg.basemap_url) {
    sources.basemap = { type: 'raster', tiles: [cfg.basemap_url], tileSize: 256, attribution: cfg.basemap_attribution || '' };
    layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  const map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources, layers },
    center: [120.6, 28.0],
    zoom: 10,
    attributionControl: false,
    transformRequest: (url) =>
      url.startsWith(`${origin}/v1/`) ? { url, headers: { Authorization: `Bearer ${state.session?.access}` } } : { url },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-left');
  state.map = map;
  window.beatgrid = { map, state, counts };
  await new Promise((resolve) => map.once('load', resolve));

  const add = (id, data = emptyFC()) => map.addSource(id, { type: 'geojson', data });
  add('beats');
  map.addSource('coverage', { type: 'vector', tiles: [tileURL()], minzoom: 8, maxzoom: 14 });
  add('gaps');
  add('suggest');
  add('routes');
  add('checkpoints');
  add('kiosks');
  add('segments');
  add('units');
  add('hazards');
  add('replay');
  add('replay-head');

  map.addLayer({ id: 'beats-fill', type: 'fill', source: 'beats', paint: { 'fill-color': '#0b5cad', 'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.12, 0.02] } });
  map.addLayer({
    id: 'coverage-fill',
    type: 'fill',
    source: 'coverage',
    'source-layer': 'coverage',
    paint: { 'fill-color': colorExpression(state.colourBy, Date.now() / 1000), 'fill-opacity': 0.7 },
  });
  map.addLayer({ id: 'beats-line', type: 'line', source: 'beats', paint: { 'line-color': '#0b5cad', 'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 1] } });
  map.addLayer({ id: 'gaps-fill', type: 'fill', source: 'gaps', paint: { 'fill-color': '#d73027', 'fill-opacity': 0.35 } });
  map.addLayer({ id: 'gaps-line', type: 'line', source: 'gaps', paint: { 'line-color': '#a50026', 'line-width': 1 } });
  map.addLayer({ id: 'suggest-line', type: 'line', source: 'suggest', paint: { 'line-color': '#6a1b9a', 'line-width': 3, 'line-dasharray': [2, 1] } });
  map.addLayer({ id: 'routes-line', type: 'line', source: 'routes', paint: { 'line-color': '#37474f', 'line-width': 2, 'line-dasharray': [3, 2] } });
  map.addLayer({ id: 'segments-line', type: 'line', source: 'segments', paint: { 'line-color': '#5d4037', 'line-width': 4, 'line-opacity': 0.6 } });
  map.addLayer({ id: 'checkpoints', type: 'circle', source: 'checkpoints', paint: { 'circle-radius': 4, 'circle-color': '#fff', 'circle-stroke-color': '#37474f', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'kiosks', type: 'circle', source: 'kiosks', paint: { 'circle-radius': 7, 'circle-color': '#5d4037', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'replay-line', type: 'line', source: 'replay', paint: { 'line-color': '#e91e63', 'line-width': 3 } });
  map.addLayer({ id: 'replay-head', type: 'circle', source: 'replay-head', paint: { 'circle-radius': 8, 'circle-color': '#e91e63', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'hazards', type: 'circle', source: 'hazards', paint: { 'circle-radius': 7, 'circle-color': '#ffb300', 'circle-stroke-color': '#b71c1c', 'circle-stroke-width': 2 } });
  map.addLayer({
    id: 'units',
    type: 'circle',
    source: 'units',
    paint: {
      'circle-radius': 7,
      'circle-color': ['match', ['get', 'mode'], ...Object.entries(MODE_COLORS).flat(), '#424242'],
      'circle-stroke-color': '#fff',
      'circle-stroke-width': 2,
    },
  });

  for (const id of ['units', 'hazards', 'kiosks', 'checkpoints', 'gaps-fill', 'coverage-fill', 'beats-fill']) {
    map.on('mouseenter', id, () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', id, () => (map.getCanvas().style.cursor = ''));
  }
  map.on('click', onMapClick);
  return map;
}

function counts() {
  const m = state.map;
  const n = (layers) => m.queryRenderedFeatures({ layers }).length;
  return { coverage: n(['coverage-fill']), beats: n(['beats-fill']), gaps: n(['gaps-fill']), units: n(['units']), kiosks: n(['kiosks']), routes: n(['routes-line']) };
}

function setVisible(key, on) {
  const l = LAYERS.find((x) => x.key === key);
  l.on = on;
  for (const id of l.ids) if (state.map.getLayer(id)) state.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
}

function updateCoverage() {
  const map = state.map;
  if (!map) return;
  const hide = state.modes.size === 0;
  map.setLayoutProperty('coverage-fill', 'visibility', hide || !LAYERS[1].on ? 'none' : 'visible');
  map.getSource('coverage').setTiles([tileURL()]);
  map.setPaintProperty('coverage-fill', 'fill-color', colorExpression(state.colourBy, Date.now() / 1000));
  loadBeatTable();
}

// ---- popups ------------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function details(title, rows, extra) {
  const dl = el('dl');
  for (const [k, v] of rows) if (v !== undefined && v !== null && v !== '') dl.append(el('dt', {}, k), el('dd', {}, v));
  return el('div', { class: 'popup' }, el('h2', {}, title), dl, extra);
}

function fmtTime(v) {
  if (!v) return t('never');
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return d.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB');
}

function showPopup(lngLat, node) {
  new maplibregl.Popup({ maxWidth: '300px', closeButton: true }).setLngLat(lngLat).setDOMContent(node).addTo(state.map);
}

function onMapClick(e) {
  const order = ['units', 'hazards', 'kiosks', 'checkpoints', 'gaps-fill', 'coverage-fill', 'beats-fill'];
  const hits = state.map.queryRenderedFeatures(e.point, { layers: order.filter((id) => state.map.getLayer(id)) });
  if (!hits.length) return;
  const f = hits.sort((a, b) => order.indexOf(a.layer.id) - order.indexOf(b.layer.id))[0];
  const p = f.properties;
  const nowSec = Date.now() / 1000;
  switch (f.layer.id) {
    case 'units': {
      const btn = el('button', { type: 'button', onclick: () => startReplay(p.patrol_id) }, t('replayTrack'));
      showPopup(e.lngLat, details(state.users.get(p.officer_id) || t('officer'), [[t('mode'), t(`mode_${p.mode}`)], [t('at'), fmtTime(p.t)], [t('device'), p.device_id], [t('patrol'), p.patrol_id]], btn));
      break;
    }
    case 'hazards':
      showPopup(e.lngLat, hazardDetails(JSON.parse(p.raw || '{}')));
      break;
    case 'kiosks':
      showPopup(e.lngLat, details(p.name, [[t('kiosk'), p.id]]));
      break;
    case 'checkpoints':
      showPopup(e.lngLat, details(p.name, [[t('checkpoint'), p.tag], ['r', `${p.radius_m} m`]]));
      break;
    case 'gaps-fill':
    case 'coverage-fill': {
      const lv = typeof p.last_visit === 'string' ? Date.parse(p.last_visit) / 1000 : Number(p.last_visit);
      const sw = el('i', { style: `display:inline-block;width:12px;height:12px;background:${cellColor(state.colourBy, { ...p, last_visit: lv }, nowSec)}` });
      showPopup(e.lngLat, details(`${t('cell')} ${p.cell || ''}`, [[t('visits'), p.visits ?? 0], [t('lastVisit'), lv ? `${fmtTime(lv)} (${formatAge(lv, nowSec)})` : t('never')], [t('modes'), p.modes]], sw));
      break;
    }
    case 'beats-fill':
      selectBeat(f.properties.id, false);
      showPopup(e.lngLat, beatDetails(f.properties.id));
      break;
  }
}

function beatDetails(id) {
  const b = state.beats.find((x) => x.properties.id === id);
  const row = state.beatRows.find((r) => r.beat_id === id);
  return details(b?.properties.name || id, [[t('colCells'), row?.cells ?? b?.properties.cells], [t('colCovered'), row?.covered], [t('colPercent'), row ? `${row.percent}%` : '']]);
}

// ---- data layers --------------------------------------------------------------------------
async function loadBeats() {
  const feats = (await pages('/v1/beats?format=geojson')) || [];
  // Feature ids must be numbers for feature-state: the beat's id moves into properties.
  state.beats = feats.filter((f) => f.geometry).map((f, i) => ({ type: 'Feature', id: i + 1, geometry: f.geometry, properties: { ...f.properties, id: f.id } }));
  state.map.getSource('beats').setData({ type: 'FeatureCollection', features: state.beats });
  renderBeatSelect();
  const b = boundsOf(state.beats);
  if (b) state.map.fitBounds(b, { padding: 30, duration: 0 });
}

function renderBeatSelect() {
  const sel = $('#gap-beat');
  const cur = sel.value;
  sel.replaceChildren(el('option', { value: '' }, t('chooseBeat')), ...state.beats.map((b) => el('option', { value: b.properties.id }, b.properties.name)));
  sel.value = cur;
}

async function loadPlaces() {
  const [routes, checkpoints, kiosks] = await Promise.all(['/v1/routes', '/v1/checkpoints', '/v1/kiosks'].map((p) => pages(`${p}?format=geojson`)));
  const fc = (features) => ({ type: 'FeatureCollection', features: (features || []).filter((f) => f.geometry) });
  state.map.getSource('routes').setData(fc(routes));
  state.map.getSource('checkpoints').setData(fc(checkpoints));
  state.map.getSource('kiosks').setData(fc(kiosks));
  const segs = (kiosks || []).filter((k) => k.properties?.segments).map((k) => ({ type: 'Feature', geometry: k.properties.segments, properties: { kiosk: k.id } }));
  state.map.getSource('segments').setData(fc(segs));
}

async function loadUsers() {
  try {
    for (const u of (await pages('/v1/users')) || []) state.users.set(u.id, u.display_name || u.username);
  } catch {}
}

async function pollUnits() {
  try {
    const body = await getJSON('/v1/live/units');
    const items = body?.items || [];
    state.map.getSource('units').setData({
      type: 'FeatureCollection',
      features: items.map((u) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [u.lon, u.lat] }, properties: u })),
    });
    $('#units-count').textContent = t('units', { n: items.length });
  } catch {}
}

// ---- gaps and suggestions ---------------------------------------------------------------
let selected = null;
function selectBeat(id, fly = true) {
  const map = state.map;
  const idx = state.beats.findIndex((b) => b.properties.id === id);
  if (selected) map.setFeatureState({ source: 'beats', id: selected }, { selected: false });
  selected = idx >= 0 ? idx + 1 : null;
  if (selected) map.setFeatureState({ source: 'beats', id: selected }, { selected: true });
  $('#gap-beat').value = id || '';
  if (fly && idx >= 0) map.fitBounds(boundsOf([state.beats[idx]]), { padding: 60, duration: 300 });
}

$('#gap-beat').addEventListener('change', (e) => selectBeat(e.target.value));

async function showGaps() {
  const id = $('#gap-beat').value;
  const out = $('#gap-result');
  if (!id) {
    out.textContent = t('chooseBeat');
    $('#gap-beat').focus();
    return;
  }
  selectBeat(id);
  out.textContent = t('loading');
  try {
    const sla = $('#gap-sla').value;
    const fc = await getJSON(`/v1/coverage/gaps?beat_id=${encodeURIComponent(id)}&sla=${sla}`);
    state.map.getSource('gaps').setData(fc || emptyFC());
    setVisible('gaps', true);
    out.textContent = t('gapsResult', { gaps: fc?.gaps ?? fc?.features?.length ?? 0, cells: fc?.cells ?? '?', sla });
    out.dataset.gaps = String(fc?.features?.length ?? 0);
  } catch (e) {
    out.textContent = t('failed', { msg: e.message });
  }
}

async function suggest() {
  const id = $('#gap-beat').value;
  if (!id) return showGaps();
  try {
    const f = await getJSON(`/v1/coverage/suggest?beat_id=${encodeURIComponent(id)}`);
    state.map.getSource('suggest').setData(f?.geometry ? f : emptyFC());
    $('#gap-result').textContent = t('suggestResult', { n: f?.properties?.cells?.length ?? 0, km: ((f?.properties?.length_m || 0) / 1000).toFixed(1) });
  } catch (e) {
    $('#gap-result').textContent = t('failed', { msg: e.message });
  }
}
$('#gap-show').addEventListener('click', showGaps);
$('#gap-suggest').addEventListener('click', suggest);

// ---- beat table ---------------------------------------------------------------------------
async function loadBeatTable() {
  try {
    const q = coverageQuery(state.win, [...state.modes], Date.now());
    state.beatRows = (await pages(`/v1/coverage/beats?${q}`)) || [];
    renderBeatTable();
  } catch {}
}

function renderBeatTable() {
  const rows = sortRows(state.beatRows, state.sort.key, state.sort.dir);
  $('#beat-table tbody').replaceChildren(
    ...rows.map((r) => {
      const tr = el('tr', { tabindex: '0', 'data-beat': r.beat_id }, el('td', {}, r.name), el('td', {}, r.cells), el('td', {}, r.covered), el('td', {}, `${r.percent}`, el('div', { class: 'bar-pct' }, el('i', { style: `width:${Math.min(100, r.percent)}%` }))));
      const go = () => selectBeat(r.beat_id);
      tr.addEventListener('click', go);
      tr.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), go()));
      return tr;
    }),
  );
  for (const th of document.querySelectorAll('#beat-table th')) {
    th.setAttribute('aria-sort', th.dataset.key === state.sort.key ? (state.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
  }
}

for (const th of document.querySelectorAll('#beat-table th')) {
  th.querySelector('button').addEventListener('click', () => {
    const key = th.dataset.key;
    state.sort = { key, dir: state.sort.key === key && state.sort.dir === 'desc' ? 'asc' : key === 'name' ? 'asc' : 'desc' };
    if (state.sort.key === key && key === 'name' && th.getAttribute('aria-sort') === 'ascending') state.sort.dir = 'desc';
    renderBeatTable();
  });
}

// ---- replay -----------------------------------------------------------------------------
async function loadPatrols() {
  try {
    const items = (await pages('/v1/patrols')) || [];
    items.sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    $('#replay-patrol').replaceChildren(
      el('option', { value: '' }, t('choosePatrol')),
      ...items.slice(0, 300).map((p) => el('option', { value: p.id }, `${fmtTime(p.started_at)} · ${t(`mode_${p.mode}`)} · ${state.users.get(p.officer_id) || p.officer_id || p.device_id}`)),
    );
  } catch {}
}

async function startReplay(id) {
  if (!id) return;
  $('#replay-panel').open = true;
  $('#replay-patrol').value = id;
  const f = await getJSON(`/v1/patrols/${encodeURIComponent(id)}/track`);
  const track = parseTrack(f);
  stopReplay();
  state.replay = { track, ms: track.times[0], playing: false, raf: 0 };
  state.map.getSource('replay').setData(f?.geometry ? f : emptyFC());
  const b = boundsOf([f]);
  if (b) state.map.fitBounds(b, { padding: 60, duration: 300 });
  drawReplay();
  playReplay();
}

function drawReplay() {
  const r = state.replay;
  if (!r) return;
  const pos = positionAt(r.track, r.ms);
  state.map.getSource('replay-head').setData(pos ? { type: 'Feature', geometry: { type: 'Point', coordinates: pos.coord }, properties: {} } : emptyFC());
  $('#replay-pos').value = String(Math.round(fraction(r.track, r.ms) * 1000));
  $('#replay-time').textContent = Number.isFinite(r.ms) ? fmtTime(new Date(r.ms).toISOString()) : '';
}

function playReplay() {
  const r = state.replay;
  if (!r || !r.track.times.length) return;
  if (r.ms >= r.track.times[r.track.times.length - 1]) r.ms = r.track.times[0];
  r.playing = true;
  $('#replay-play').textContent = t('pause');
  const startReal = performance.now();
  const offset = r.ms - r.track.times[0];
  const speed = Number($('#replay-speed').value);
  const step = (now) => {
    if (!r.playing) return;
    r.ms = trackTime(r.track, now - startReal, speed, offset);
    drawReplay();
    if (r.ms >= r.track.times[r.track.times.length - 1]) return stopReplay();
    r.raf = requestAnimationFrame(step);
  };
  r.raf = requestAnimationFrame(step);
}

function stopReplay() {
  const r = state.replay;
  if (!r) return;
  r.playing = false;
  cancelAnimationFrame(r.raf);
  $('#replay-play').textContent = t('play');
}

$('#replay-patrol').addEventListener('change', (e) => startReplay(e.target.value));
$('#replay-play').addEventListener('click', () => (state.replay?.playing ? stopReplay() : playReplay()));
$('#replay-speed').addEventListener('change', () => state.replay?.playing && (stopReplay(), playReplay()));
$('#replay-pos').addEventListener('input', (e) => {
  const r = state.replay;
  if (!r) return;
  stopReplay();
  r.ms = r.track.times[0] + (Number(e.target.value) / 1000) * duration(r.track);
  drawReplay();
});

// ---- alerts, hazards, report (degrade when the server has no such routes) -------------------
function note(container, key) {
  container.replaceChildren(el('p', { class: 'muted' }, t(key)));
}

async function loadAlerts() {
  const box = $('#alerts');
  try {
    const body = await getJSON('/v1/alerts?status=open');
    state.features.alerts = body !== null;
    if (!body) return note(box, 'notAvailable');
    const items = body.items || [];
    if (!items.length) return note(box, 'noAlerts');
    box.replaceChildren(
      ...items.map((a) => {
        const btn = el('button', { type: 'button', 'data-alert': a.id }, t('acknowledge'));
        btn.addEventListener('click', () => ackAlert(a.id, btn));
        return el('div', { class: 'item' }, el('strong', {}, a.title || a.kind || a.type || a.id), el('div', { class: 'muted' }, [a.message || a.detail, fmtTime(a.created_at || a.at)].filter(Boolean).join(' · ')), btn);
      }),
    );
  } catch (e) {
    box.textContent = t('failed', { msg: e.message });
  }
}

async function ackAlert(id, btn) {
  btn.disabled = true;
  for (const path of [`/v1/alerts/${encodeURIComponent(id)}/ack`, `/v1/alerts/${encodeURIComponent(id)}/acknowledge`]) {
    const r = await api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    if (r.ok) {
      btn.textContent = t('acknowledged');
      btn.dataset.acked = 'true';
      return true;
    }
    if (r.status !== 404 && r.status !== 405) break;
  }
  btn.disabled = false;
  return false;
}

function hazardPoint(h) {
  if (h.geometry?.type === 'Point') return h.geometry.coordinates;
  if (typeof h.lon === 'number' && typeof h.lat === 'number') return [h.lon, h.lat];
  if (h.location?.coordinates) return h.location.coordinates;
  return null;
}

function hazardDetails(h) {
  const photos = el('div');
  for (const sha of (h.photos || []).slice(0, 3)) {
    api(`/v1/blobs/${sha}`)
      .then((r) => (r.ok ? r.blob() : null))
      .then((b) => b && photos.append(el('img', { src: URL.createObjectURL(b), alt: `${t('hazard')} ${sha.slice(0, 8)}` })))
      .catch(() => {});
  }
  const history = el('ol');
  for (const ev of h.history || h.events || []) {
    const what = [ev.kind || ev.action || ev.status, ev.to && `→ ${ev.to}`, ev.notice_no].filter(Boolean).join(' ');
    const why = ev.superseded ? `superseded: ${ev.reason || ''}` : ev.note;
    history.append(el('li', ev.superseded ? { class: 'muted' } : {}, [fmtTime(ev.t || ev.at), what, why].filter(Boolean).join(' · ')));
  }
  return details(h.description || h.title || h.id, [[t('status'), h.status], ['!', h.severity], [t('at'), fmtTime(h.reported_at || h.created_at || h.t)]], el('div', {}, photos, history));
}

async function loadHazards() {
  const box = $('#hazards');
  try {
    const body = await getJSON('/v1/hazards?limit=1000');
    state.features.hazards = body !== null;
    if (!body) return note(box, 'notAvailable');
    const items = (body.items || body.features?.map((f) => ({ ...f.properties, geometry: f.geometry })) || []).filter((h) => !h.status || h.status !== 'closed');
    if (!items.length) note(box, 'noHazards');
    else {
      box.replaceChildren(
        ...items.slice(0, 100).map((h) => {
          const b = el('button', { type: 'button', class: 'item' }, `${h.description || h.id} · ${h.status || ''}${h.overdue ? ' · overdue' : ''}`);
          b.addEventListener('click', () => {
            const p = hazardPoint(h);
            if (p) {
              state.map.flyTo({ center: p, zoom: 16 });
              showPopup(p, hazardDetails(h));
            }
          });
          return b;
        }),
      );
    }
    state.map.getSource('hazards').setData({
      type: 'FeatureCollection',
      features: items.filter(hazardPoint).map((h) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: hazardPoint(h) }, properties: { id: h.id, raw: JSON.stringify(h) } })),
    });
  } catch (e) {
    box.textContent = t('failed', { msg: e.message });
  }
}

async function loadReport() {
  const box = $('#report');
  try {
    const body = await getJSON('/v1/reports/daily'); // today, in the server's time zone
    state.features.reports = body !== null;
    if (!body) return note(box, 'notAvailable');
    const figures = [
      ['patrols', 'patrols'],
      ['distance_km', 'km'],
      ['checkpoints_punched', 'punched'],
      ['checkpoints_missed', 'missed'],
      ['inspections', 'inspections'],
      ['hazards_found', 'hazards'],
      ['hazards_overdue', 'overdue'],
      ['coverage_percent', '%'],
    ];
    const dl = el('dl');
    for (const [k] of figures) dl.append(el('dt', {}, k.replaceAll('_', ' ')), el('dd', {}, String(body.totals?.[k] ?? 0)));
    const rows = (body.units || []).filter((u) => u.kind === 'station' || u.kind === 'zone');
    const table = el(
      'table',
      { class: 'report' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, ''), ...figures.map(([, h]) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows.map((u) => el('tr', {}, el('th', { scope: 'row' }, u.name), ...figures.map(([k]) => el('td', {}, String(u[k] ?? 0)))))),
    );
    box.replaceChildren(el('div', { class: 'popup' }, dl), table);
  } catch (e) {
    box.textContent = t('failed', { msg: e.message });
  }
}

// ---- controls ---------------------------------------------------------------------------
function renderToggles() {
  const layersBox = $('#layer-toggles');
  layersBox.replaceChildren(
    el('legend', {}, t('layers')),
    ...LAYERS.map((l) => {
      const cb = el('input', { type: 'checkbox', id: `layer-${l.key}` });
      cb.checked = l.on;
      cb.addEventListener('change', () => (l.key === 'coverage' ? ((l.on = cb.checked), updateCoverage()) : setVisible(l.key, cb.checked)));
      return el('label', { for: `layer-${l.key}` }, cb, t(l.label));
    }),
  );
  const modesBox = $('#mode-toggles');
  modesBox.replaceChildren(
    el('legend', {}, t('modes')),
    ...ALL_MODES.map((m) => {
      const cb = el('input', { type: 'checkbox', id: `mode-${m}`, value: m });
      cb.checked = state.modes.has(m);
      cb.addEventListener('change', () => {
        cb.checked ? state.modes.add(m) : state.modes.delete(m);
        updateCoverage();
      });
      const sw = el('i', { style: `display:inline-block;width:10px;height:10px;border-radius:50%;background:${MODE_COLORS[m]}` });
      return el('label', { for: `mode-${m}` }, cb, sw, t(`mode_${m}`));
    }),
  );
}

function renderLegend() {
  $('#legend').replaceChildren(...legend(state.colourBy).map((c) => el('span', {}, el('i', { style: `background:${c.color}` }), t(c.label, c.vars))));
  $('#legend').setAttribute('aria-label', t('legend'));
}

function renderWindow() {
  $('#from-h').value = String(state.win.fromH);
  $('#to-h').value = String(state.win.toH);
  $('#from-out').textContent = t('hoursAgo', { n: state.win.fromH });
  $('#to-out').textContent = state.win.toH === 0 ? t('now') : t('hoursAgo', { n: state.win.toH });
}

let sliderTimer = 0;
for (const [id, moved] of [['#from-h', 'from'], ['#to-h', 'to']]) {
  $(id).addEventListener('input', () => {
    state.win = clampWindow({ fromH: $('#from-h').value, toH: $('#to-h').value }, moved);
    renderWindow();
    clearTimeout(sliderTimer);
    sliderTimer = setTimeout(updateCoverage, 250);
  });
}
for (const r of document.querySelectorAll('input[name=colour]')) {
  r.addEventListener('change', () => {
    state.colourBy = r.value;
    renderLegend();
    updateCoverage();
  });
}

// ---- start ------------------------------------------------------------------------------
async function start() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  if (!state.map) await createMap();
  else state.map.resize();
  window.beatgrid.ready = (async () => {
    await loadUsers();
    await Promise.all([loadBeats(), loadPlaces(), pollUnits(), loadBeatTable(), loadPatrols(), loadAlerts(), loadHazards(), loadReport()]);
  })();
  clearInterval(state.liveTimer);
  state.liveTimer = setInterval(pollUnits, 5000);
  // Recency colours move with the clock.
  setInterval(() => state.map.setPaintProperty('coverage-fill', 'fill-color', colorExpression(state.colourBy, Date.now() / 1000)), 60000);
  await window.beatgrid.ready;
}

applyLanguage();
if (state.session && state.session.expiresAt > Date.now() - 1) {
  refresh().then((ok) => (ok ? start() : signOut()));
} else {
  $('#login').hidden = false;
  $('#password').focus();
}
