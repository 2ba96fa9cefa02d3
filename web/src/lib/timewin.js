// The time slider: two sliders in hours ago (from ≥ 1, to ≥ 0) become the from/to query of
// the coverage API, rounded down to the minute so that tile URLs (and their ETags) stay the
// same between moves of the slider within a minute.

export const MAX_HOURS = 168; // a week
export const ALL_MODES = ['foot', 'vehicle', 'video', 'drone', 'kiosk'];

// clampWindow keeps 0 ≤ to < from ≤ MAX_HOURS; moved tells which slider the user moved, the
// other gives way.
export function clampWindow({ fromH, toH }, moved = 'from') {
  let f = Math.round(Math.min(Math.max(Number(fromH) || 1, 1), MAX_HOURS));
  let t = Math.round(Math.min(Math.max(Number(toH) || 0, 0), MAX_HOURS - 1));
  if (t >= f) {
    if (moved === 'to') f = t + 1;
    else t = f - 1;
  }
  return { fromH: f, toH: t };
}

function minuteISO(ms) {
  return new Date(Math.floor(ms / 60000) * 60000).toISOString().replace('.000Z', 'Z');
}

// windowQuery returns the query parameters of the window at nowMs: from always, to only when
// the window does not end now.
export function windowQuery(win, nowMs) {
  const { fromH, toH } = clampWindow(win);
  const q = { from: minuteISO(nowMs - fromH * 3600e3) };
  if (toH > 0) q.to = minuteISO(nowMs - toH * 3600e3);
  return q;
}

// modesParam: all modes or none selected → no filter (""); else the comma list in API order.
export function modesParam(selected) {
  const set = new Set(selected);
  const list = ALL_MODES.filter((m) => set.has(m));
  return list.length === 0 || list.length === ALL_MODES.length ? '' : list.join(',');
}

// coverageQuery is the query string of the tiles, cells and beats endpoints.
export function coverageQuery(win, selectedModes, nowMs) {
  const q = windowQuery(win, nowMs);
  const mode = modesParam(selectedModes);
  if (mode) q.mode = mode;
  return new URLSearchParams(q).toString();
}
