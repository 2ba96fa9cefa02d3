import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { messages, t, pickLanguage } from '../src/lib/i18n.js';
import { RECENCY } from '../src/lib/colors.js';
import { ALL_MODES } from '../src/lib/timewin.js';

test('every language has every key, none empty', () => {
  const en = Object.keys(messages.en).sort();
  for (const [lang, dict] of Object.entries(messages)) {
    assert.deepEqual(Object.keys(dict).sort(), en, `${lang} keys differ from en`);
    for (const [k, v] of Object.entries(dict)) assert.ok(v.trim(), `${lang}.${k} is empty`);
  }
});

test('placeholders match across languages', () => {
  const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const k of Object.keys(messages.en)) assert.deepEqual(ph(messages.zh[k]), ph(messages.en[k]), k);
});

test('every key the page and the code use exists', () => {
  const html = readFileSync(new URL('../src/index.html', import.meta.url), 'utf8');
  const js = readFileSync(new URL('../src/main.js', import.meta.url), 'utf8');
  const used = new Set([...html.matchAll(/data-i18n(?:-aria)?="(\w+)"/g)].map((m) => m[1]));
  for (const m of js.matchAll(/\bt\('(\w+)'/g)) used.add(m[1]);
  for (const c of RECENCY) used.add(c.label);
  for (const m of ALL_MODES) used.add(`mode_${m}`);
  for (const k of used) assert.ok(k in messages.en, `key ${k} is used but not defined`);
});

test('t fills placeholders and falls back', () => {
  assert.equal(t('en', 'hoursAgo', { n: 3 }), '3 h ago');
  assert.equal(t('zh', 'hoursAgo', { n: 3 }), '3 小时前');
  assert.equal(t('fr', 'signIn'), 'Sign in');
  assert.equal(t('en', 'no.such.key'), 'no.such.key');
});

test('pickLanguage prefers the saved one, then the browser', () => {
  assert.equal(pickLanguage('zh', ['en-US']), 'zh');
  assert.equal(pickLanguage(null, ['zh-CN', 'en']), 'zh');
  assert.equal(pickLanguage(null, ['de-DE']), 'en');
});
