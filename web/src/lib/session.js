// Session timing and small helpers without the DOM.

// refreshDelayMs: refresh the access token a minute before it expires, or at three quarters
// of its life when a minute is more than a quarter of it, and never sooner than 5 s.
export function refreshDelayMs(expiresInSec) {
  const s = Number(expiresInSec) || 0;
  return Math.max(5000, (s - 60) * 1000, s * 750);
}

// sortRows sorts a copy of rows by key, numbers numerically, strings naturally.
export function sortRows(rows, key, dir = 'asc') {
  const m = dir === 'desc' ? -1 : 1;
  const coll = new Intl.Collator(undefined, { numeric: true });
  return rows
    .map((r, i) => [r, i])
    .sort(([a, i], [b, j]) => {
      const x = a[key];
      const y = b[key];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : coll.compare(String(x ?? ''), String(y ?? ''));
      return c * m || i - j;
    })
    .map(([r]) => r);
}

// boundsOf returns [[minLon, minLat], [maxLon, maxLat]] of GeoJSON geometries or features.
export function boundsOf(items) {
  let b = null;
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      if (!b) b = [[c[0], c[1]], [c[0], c[1]]];
      b[0][0] = Math.min(b[0][0], c[0]);
      b[0][1] = Math.min(b[0][1], c[1]);
      b[1][0] = Math.max(b[1][0], c[0]);
      b[1][1] = Math.max(b[1][1], c[1]);
    } else c.forEach(visit);
  };
  for (const it of items) {
    const g = it?.type === 'Feature' ? it.geometry : it;
    if (g?.coordinates) visit(g.coordinates);
  }
  return b;
}

// formatAge tells how long ago unix seconds were, in the largest unit.
export function formatAge(sec, nowSec) {
  if (!sec) return '';
  const d = Math.max(0, nowSec - sec);
  if (d < 90) return `${Math.round(d)} s`;
  if (d < 5400) return `${Math.round(d / 60)} min`;
  if (d < 172800) return `${(d / 3600).toFixed(1)} h`;
  return `${Math.round(d / 86400)} d`;
}
