import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrack, trackTime, positionAt, fraction, duration } from '../src/lib/replay.js';
import { refreshDelayMs, sortRows, boundsOf, formatAge } from '../src/lib/session.js';

const feature = {
  type: 'Feature',
  geometry: { type: 'LineString', coordinates: [[0, 0], [10, 0], [10, 10], [99, 99]] },
  properties: { times: ['2026-11-25T10:00:00Z', '2026-11-25T10:00:10Z', '2026-11-25T10:00:30Z', 'bad'] },
};

test('parseTrack drops untimed points', () => {
  const tr = parseTrack(feature);
  assert.equal(tr.coords.length, 3);
  assert.equal(duration(tr), 30000);
});

test('positions interpolate between fixes and clamp at the ends', () => {
  const tr = parseTrack(feature);
  const t0 = tr.times[0];
  assert.deepEqual(positionAt(tr, t0 - 1000), { coord: [0, 0], index: 0 });
  assert.deepEqual(positionAt(tr, t0 + 5000), { coord: [5, 0], index: 0 });
  assert.deepEqual(positionAt(tr, t0 + 20000), { coord: [10, 5], index: 1 });
  assert.deepEqual(positionAt(tr, t0 + 99999), { coord: [10, 10], index: 2 });
  assert.equal(positionAt(parseTrack({}), 0), null);
});

test('playback at speed× maps real time to track time and stops at the end', () => {
  const tr = parseTrack(feature);
  const t0 = tr.times[0];
  assert.equal(trackTime(tr, 0, 300), t0);
  assert.equal(trackTime(tr, 50, 300), t0 + 15000); // 50 ms at 300× = 15 s
  assert.equal(trackTime(tr, 50, 300, 10000), t0 + 25000); // resumed 10 s in
  assert.equal(trackTime(tr, 10_000, 300), t0 + 30000);
  assert.equal(fraction(tr, t0 + 15000), 0.5);
});

test('refresh a minute before expiry, sooner for short tokens', () => {
  assert.equal(refreshDelayMs(600), 540000);
  assert.equal(refreshDelayMs(100), 75000);
  assert.equal(refreshDelayMs(2), 5000);
});

test('sortRows sorts numbers, names naturally, stably', () => {
  const rows = [{ n: 'Beat 10', p: 5 }, { n: 'Beat 9', p: 50 }, { n: 'Beat 2', p: 5 }];
  assert.deepEqual(sortRows(rows, 'n').map((r) => r.n), ['Beat 2', 'Beat 9', 'Beat 10']);
  assert.deepEqual(sortRows(rows, 'p', 'desc').map((r) => r.n), ['Beat 9', 'Beat 10', 'Beat 2']);
  assert.deepEqual(sortRows(rows, 'p', 'asc').map((r) => r.n), ['Beat 10', 'Beat 2', 'Beat 9']);
});

test('boundsOf and formatAge', () => {
  assert.deepEqual(boundsOf([feature, { type: 'Point', coordinates: [-1, 2] }]), [[-1, 0], [99, 99]]);
  assert.equal(formatAge(1000 - 30, 1000), '30 s');
  assert.equal(formatAge(10000 - 7200, 10000), '2.0 h');
});
