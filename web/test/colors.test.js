import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recencyColor, recencyExpression, visitsColor, visitsExpression, legend, RECENCY, VISITS, NO_DATA } from '../src/lib/colors.js';

const now = 1_800_000_000;

test('recency classes by age', () => {
  assert.equal(recencyColor(now - 10 * 60, now), RECENCY[0].color);
  assert.equal(recencyColor(now - 2 * 3600, now), RECENCY[1].color);
  assert.equal(recencyColor(now - 6 * 3600, now), RECENCY[2].color);
  assert.equal(recencyColor(now - 20 * 3600, now), RECENCY[3].color);
  assert.equal(recencyColor(now - 48 * 3600, now), RECENCY[4].color);
  assert.equal(recencyColor(null, now), NO_DATA);
  assert.equal(recencyColor(0, now), NO_DATA);
});

// evalStep evaluates the step part of the MapLibre expression as MapLibre does.
function evalRecency(expr, lastVisit) {
  const [, cond, noData, step] = expr;
  if (lastVisit <= 0) return noData;
  assert.equal(cond[0], '<=');
  let out = step[2];
  for (let i = 3; i < step.length; i += 2) {
    if (lastVisit >= step[i]) out = step[i + 1];
  }
  return out;
}

test('the MapLibre expression agrees with recencyColor', () => {
  const expr = recencyExpression(now);
  const stops = expr[3].filter((_, i) => i >= 3 && i % 2 === 1);
  assert.deepEqual(stops, [...stops].sort((a, b) => a - b), 'step stops must ascend');
  for (const ageMin of [0, 30, 59, 61, 200, 239, 241, 700, 721, 1400, 1441, 5000]) {
    const lv = now - ageMin * 60;
    assert.equal(evalRecency(expr, lv), recencyColor(lv, now), `age ${ageMin} min`);
  }
  assert.equal(evalRecency(expr, 0), NO_DATA);
});

test('visits classes and expression agree', () => {
  const expr = visitsExpression();
  for (const v of [0, 1, 2, 3, 5, 9, 10, 19, 20, 500]) {
    let out = expr[2];
    for (let i = 3; i < expr.length; i += 2) if (v >= expr[i]) out = expr[i + 1];
    assert.equal(out, visitsColor(v), `visits ${v}`);
  }
  assert.equal(visitsColor(0), NO_DATA);
  assert.equal(visitsColor(25), VISITS[VISITS.length - 1].color);
});

test('legend lists every class', () => {
  assert.equal(legend('recency').length, RECENCY.length);
  assert.deepEqual(legend('visits').map((c) => c.vars.n), VISITS.map((c) => c.min));
});
