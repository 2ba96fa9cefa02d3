// Colour scales of the coverage layer: by recency of the last visit (unix seconds) or by the
// number of visits. Each scale is a list of classes; the same classes give the MapLibre
// expression, the colour of one cell (popups, tests) and the legend.

export const NO_DATA = '#9aa0a6';

// Recency classes, freshest first: a cell last visited less than maxAgeH hours ago.
export const RECENCY = [
  { maxAgeH: 1, color: '#1a9850', label: 'age_1h' },
  { maxAgeH: 4, color: '#91cf60', label: 'age_4h' },
  { maxAgeH: 12, color: '#fee08b', label: 'age_12h' },
  { maxAgeH: 24, color: '#fc8d59', label: 'age_24h' },
  { maxAgeH: Infinity, color: '#d73027', label: 'age_old' },
];

// Visit classes, fewest first: at least min visits.
export const VISITS = [
  { min: 1, color: '#c6dbef' },
  { min: 2, color: '#9ecae1' },
  { min: 5, color: '#6baed6' },
  { min: 10, color: '#3182bd' },
  { min: 20, color: '#08519c' },
];

export function recencyColor(lastVisit, nowSec) {
  if (typeof lastVisit !== 'number' || !Number.isFinite(lastVisit) || lastVisit <= 0) return NO_DATA;
  const ageH = (nowSec - lastVisit) / 3600;
  for (const c of RECENCY) if (ageH < c.maxAgeH) return c.color;
  return RECENCY[RECENCY.length - 1].color;
}

// recencyExpression is a MapLibre step expression over last_visit with thresholds fixed at
// nowSec (expressions have no clock): ascending times, so the oldest class comes first.
export function recencyExpression(nowSec) {
  const finite = RECENCY.filter((c) => Number.isFinite(c.maxAgeH)).reverse(); // 24h, 12h, 4h, 1h
  const expr = ['step', ['to-number', ['get', 'last_visit'], 0], RECENCY[RECENCY.length - 1].color];
  for (let i = 0; i < finite.length; i++) {
    // From nowSec - maxAgeH on, the cell is in the class younger than the one before.
    const younger = RECENCY[RECENCY.indexOf(finite[i])];
    expr.push(Math.floor(nowSec - younger.maxAgeH * 3600), younger.color);
  }
  return ['case', ['<=', ['to-number', ['get', 'last_visit'], 0], 0], NO_DATA, expr];
}

export function visitsColor(visits) {
  if (typeof visits !== 'number' || visits < VISITS[0].min) return NO_DATA;
  let color = VISITS[0].color;
  for (const c of VISITS) if (visits >= c.min) color = c.color;
  return color;
}

export function visitsExpression() {
  const expr = ['step', ['to-number', ['get', 'visits'], 0], NO_DATA];
  for (const c of VISITS) expr.push(c.min, c.color);
  return expr;
}

export function colorExpression(by, nowSec) {
  return by === 'visits' ? visitsExpression() : recencyExpression(nowSec);
}

export function cellColor(by, props, nowSec) {
  return by === 'visits' ? visitsColor(Number(props.visits)) : recencyColor(Number(props.last_visit), nowSec);
}

// legend returns [{label key, vars, color}] for the scale, in display order.
export function legend(by) {
  if (by === 'visits') return VISITS.map((c) => ({ label: 'visits_n', vars: { n: c.min }, color: c.color }));
  return RECENCY.map((c) => ({ label: c.label, vars: {}, color: c.color }));
}

export const MODE_COLORS = { foot: '#1565c0', vehicle: '#ef6c00', video: '#6a1b9a', drone: '#00838f', kiosk: '#5d4037' };
