// The console in a real browser: Debian's chromium, headless, driven by playwright-core
// (no browser download). Run by the Go test TestConsoleInBrowser (cmd/beatgrid), which
// starts the real server with --demo and passes:
//
//	BEATGRID_URL        the server, e.g. http://127.0.0.1:41234
//	BEATGRID_PASSWORD   the admin's password
//	BEATGRID_ARTIFACTS  where screenshots and the summary go (default ./test-artifacts)
//	CHROMIUM            the browser (default /usr/bin/chromium)
//
// It signs in, waits for the coverage layer to render features, opens a beat's blind spots,
// acknowledges an alert if the server has /v1/alerts, switches to Chinese, takes screenshots
// at 1366×768 and tablet width, measures load time and bytes transferred, and prints one
// line "BROWSER {json}" with the results. Exit status 1 on any failure.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const base = process.env.BEATGRID_URL;
const password = process.env.BEATGRID_PASSWORD;
const artifacts = resolve(process.env.BEATGRID_ARTIFACTS || 'test-artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!base || !password) {
  console.error('set BEATGRID_URL and BEATGRID_PASSWORD');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const userDataDir = mkdtempSync(join(tmpdir(), 'beatgrid-chromium-'));
const log = (...a) => console.log('e2e:', ...a);
const result = { screenshots: [] };

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1366, height: 768 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
let failed = false;
try {
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const shot = async (name) => {
    const path = join(artifacts, `${name}.png`);
    await page.screenshot({ path });
    result.screenshots.push(path);
    log('screenshot', path);
  };

  // Bytes on the wire, as the network stack counted them (CDP), for the first load.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  let wire = 0;
  let requests = 0;
  cdp.on('Network.loadingFinished', (e) => {
    wire += e.encodedDataLength;
    requests++;
  });

  // 1. The page loads cold, shows the sign-in form.
  const t0 = Date.now();
  await page.goto(`${base}/`, { waitUntil: 'load' });
  result.load_ms = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return Math.round(n.loadEventEnd - n.startTime);
  });
  result.load_wall_ms = Date.now() - t0;
  result.transfer_perf_bytes = await page.evaluate(() =>
    [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].reduce((s, e) => s + (e.transferSize || 0), 0),
  );
  await page.waitForTimeout(200);
  result.transfer_bytes = wire;
  result.requests = requests;
  log(`page load ${result.load_ms} ms, ${wire} bytes over ${requests} requests`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(password);
  await shot('01-sign-in');

  // 2. Sign in with the keyboard; the map comes up with beats and coverage.
  await page.getByLabel('Password').press('Enter');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => window.beatgrid?.ready, null, { timeout: 30000 });
  await page.evaluate(() => window.beatgrid.ready);
  const signedIn = Date.now();
  await page.waitForFunction(() => window.beatgrid.counts().coverage > 0 && window.beatgrid.counts().beats > 0, null, { timeout: 60000, polling: 250 });
  result.coverage_render_ms = Date.now() - signedIn;
  result.rendered = await page.evaluate(() => window.beatgrid.counts());
  log('rendered features', JSON.stringify(result.rendered));
  await page.waitForFunction(() => window.beatgrid.counts().units > 0, null, { timeout: 15000 }).catch(() => log('no live unit rendered'));
  result.rendered = await page.evaluate(() => window.beatgrid.counts());
  result.transfer_after_sign_in_bytes = wire;
  await shot('02-coverage-1366x768');

  // 3. The per-beat table, sorted by percent; its top beat's blind spots under a 4 h SLA.
  await page.getByText('Coverage per beat').click();
  await page.waitForSelector('#beat-table tbody tr');
  const top = page.locator('#beat-table tbody tr').first();
  result.top_beat = await top.locator('td').first().textContent();
  await top.focus();
  await top.press('Enter');
  await page.getByLabel('Revisit within').selectOption('4h');
  await page.getByRole('button', { name: 'Show blind spots' }).click();
  await page.waitForFunction(() => document.querySelector('#gap-result').dataset.gaps !== undefined, null, { timeout: 15000 });
  result.gaps_text = await page.locator('#gap-result').textContent();
  await page.waitForTimeout(800); // the fly-to
  await page.waitForFunction(() => window.beatgrid.map.loaded(), null, { timeout: 15000 });
  result.rendered_gaps = await page.evaluate(() => window.beatgrid.counts().gaps);
  log(`blind spots of ${result.top_beat}: ${result.gaps_text} (${result.rendered_gaps} rendered)`);
  if (Number(await page.locator('#gap-result').getAttribute('data-gaps')) > 0 && result.rendered_gaps === 0) throw new Error('gaps fetched but none rendered');
  await shot('03-gaps');

  // 4. Alerts: acknowledge one if the server has them.
  const alerts = await page.evaluate(async () => {
    const r = await fetch('/v1/alerts?status=open', { headers: { Authorization: `Bearer ${window.beatgrid.state.session.access}` } });
    return { status: r.status, body: r.ok ? await r.json() : null };
  });
  if (alerts.status === 404) {
    log('skip: the server has no /v1/alerts yet; no alert to acknowledge');
    result.alert = 'skipped (404)';
  } else if (!alerts.body?.items?.length) {
    log(`skip: /v1/alerts answered ${alerts.status} with no open alert`);
    result.alert = `none open (${alerts.status})`;
  } else {
    await page.locator('#alerts-panel summary').click();
    const btn = page.locator('#alerts button[data-alert]').first();
    await btn.click();
    await page.waitForSelector('#alerts button[data-acked=true]', { timeout: 10000 });
    result.alert = 'acknowledged';
    log('acknowledged an alert');
  }

  // 4b. Today's report and the open hazards of the demo county are in their panels.
  await page.waitForFunction(() => document.querySelectorAll('#report table tbody tr').length > 0, null, { timeout: 15000 });
  result.report_rows = await page.locator('#report table tbody tr').count();
  result.hazards_listed = await page.locator('#hazards .item').count();
  if (result.hazards_listed === 0) throw new Error('the demo county has hazards, the panel lists none');
  log(`report: ${result.report_rows} unit rows; hazards panel: ${result.hazards_listed}`);

  // 5. Track replay of the newest patrol, then Chinese labels, then a tablet.
  await page.locator('#replay-panel summary').click();
  const patrol = await page.locator('#replay-patrol option').nth(1).getAttribute('value');
  await page.locator('#replay-patrol').selectOption(patrol);
  await page.waitForFunction(() => Number(document.querySelector('#replay-pos').value) > 0, null, { timeout: 15000 });
  await shot('04-replay');
  await page.locator('#app .lang').click();
  result.title_zh = await page.title();
  if (!/指挥台/.test(result.title_zh)) throw new Error(`title after switching language: ${result.title_zh}`);
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.waitForTimeout(800);
  await shot('05-tablet-zh');
  result.page_errors = errors.filter((e) => !/Failed to load resource: the server responded with a status of 404/.test(e));
  if (result.page_errors.length) throw new Error(`page errors: ${result.page_errors.join(' | ')}`);
} catch (e) {
  failed = true;
  console.error('e2e: FAILED:', e.stack || e);
  try {
    const p = context.pages()[0];
    const path = join(artifacts, 'failure.png');
    await p.screenshot({ path });
    result.screenshots.push(path);
  } catch {}
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
writeFileSync(join(artifacts, 'browser-result.json'), JSON.stringify(result, null, 2));
console.log('BROWSER ' + JSON.stringify(result));
process.exit(failed ? 1 : 0);
