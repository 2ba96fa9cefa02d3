import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampWindow, windowQuery, modesParam, coverageQuery, ALL_MODES, MAX_HOURS } from '../src/lib/timewin.js';

const now = Date.parse('2026-11-25T12:34:56.789Z');

test('the last 24 hours: from only, rounded to the minute', () => {
  assert.deepEqual(windowQuery({ fromH: 24, toH: 0 }, now), { from: '2026-11-24T12:34:00Z' });
});

test('a window in the past has from and to', () => {
  assert.deepEqual(windowQuery({ fromH: 48, toH: 24 }, now), { from: '2026-11-23T12:34:00Z', to: '2026-11-24T12:34:00Z' });
});

test('the sliders never cross: the other one gives way', () => {
  assert.deepEqual(clampWindow({ fromH: 5, toH: 5 }, 'from'), { fromH: 5, toH: 4 });
  assert.deepEqual(clampWindow({ fromH: 5, toH: 9 }, 'to'), { fromH: 10, toH: 9 });
  assert.deepEqual(clampWindow({ fromH: 0, toH: -3 }), { fromH: 1, toH: 0 });
  assert.deepEqual(clampWindow({ fromH: 1000, toH: 1000 }, 'to'), { fromH: MAX_HOURS, toH: MAX_HOURS - 1 });
  const q = windowQuery({ fromH: 3, toH: 7 }, now);
  assert.ok(Date.parse(q.from) < Date.parse(q.to));
});

test('modes: all or none is no filter, else in API order', () => {
  assert.equal(modesParam(ALL_MODES), '');
  assert.equal(modesParam([]), '');
  assert.equal(modesParam(['vehicle', 'foot']), 'foot,vehicle');
});

test('coverageQuery is a stable query string', () => {
  assert.equal(coverageQuery({ fromH: 2, toH: 1 }, ['foot'], now), 'from=2026-11-25T10%3A34%3A00Z&to=2026-11-25T11%3A34%3A00Z&mode=foot');
  assert.equal(coverageQuery({ fromH: 2, toH: 0 }, ALL_MODES, now), coverageQuery({ fromH: 2, toH: 0 }, ALL_MODES, now + 3000));
});
