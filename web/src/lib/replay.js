// Track replay: a patrol's track (a GeoJSON LineString with properties.times) played at a
// speed factor. Pure functions of time: the page's animation loop only asks where the unit
// is at a moment of the track.

// parseTrack turns the track Feature into {coords, times (ms)}, dropping points without a
// valid time and keeping time order.
export function parseTrack(feature) {
  const coords = feature?.geometry?.coordinates ?? [];
  const times = feature?.properties?.times ?? [];
  const pts = [];
  for (let i = 0; i < coords.length && i < times.length; i++) {
    const ms = Date.parse(times[i]);
    if (Number.isFinite(ms)) pts.push({ c: coords[i], ms });
  }
  pts.sort((a, b) => a.ms - b.ms);
  return { coords: pts.map((p) => p.c), times: pts.map((p) => p.ms) };
}

export function duration(track) {
  return track.times.length ? track.times[track.times.length - 1] - track.times[0] : 0;
}

// trackTime maps elapsed real milliseconds of playback at speed× to a moment of the track,
// starting at offset ms into it and stopping at its end.
export function trackTime(track, elapsedMs, speed, offsetMs = 0) {
  if (!track.times.length) return NaN;
  const t = track.times[0] + offsetMs + elapsedMs * speed;
  return Math.min(Math.max(t, track.times[0]), track.times[track.times.length - 1]);
}

// positionAt returns {coord, index} at time ms: interpolated between the fixes around it;
// index is the last fix at or before ms (the part of the line already travelled).
export function positionAt(track, ms) {
  const { coords, times } = track;
  if (!times.length) return null;
  if (ms <= times[0]) return { coord: coords[0], index: 0 };
  const last = times.length - 1;
  if (ms >= times[last]) return { coord: coords[last], index: last };
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= ms) lo = mid;
    else hi = mid;
  }
  const f = (ms - times[lo]) / (times[hi] - times[lo] || 1);
  const a = coords[lo];
  const b = coords[hi];
  return { coord: [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f], index: lo };
}

// fraction is how far through the track ms is, 0..1 (for the scrub slider).
export function fraction(track, ms) {
  const d = duration(track);
  return d ? (ms - track.times[0]) / d : 0;
}
