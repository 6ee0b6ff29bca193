// Opens a chaos campaign report (the folder's report.html, with its result.json beside it)
// in headless Chromium and checks that the page rendered what the result says: charts with
// drawn series, one band per fault window in every chart, the tables' rows, no console
// error, no request but the page itself, and a screenshot that is not blank.
//
//   node check.mjs DIR CHROMIUM
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, executable] = process.argv.slice(2);
const result = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8'));
const page_url = pathToFileURL(path.resolve(dir, 'report.html')).href;
const screenshot = path.resolve(dir, 'report.png');
const failures = [];

function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

// What the page shows, measured inside it.
function measure() {
  const chart = (id) => {
    const svg = document.querySelector(`#${id} svg.chart-svg`);
    if (!svg) return null;
    const width = svg.getBoundingClientRect().width;
    const paths = [...svg.querySelectorAll('path.series')].map((p) => {
      const box = p.getBBox();
      return { width: box.width, height: box.height, length: p.getTotalLength() };
    });
    return { width, paths, bands: svg.querySelectorAll('rect.fault-band').length };
  };
  const rows = (id) => document.querySelectorAll(`#${id} tbody tr`).length;
  return {
    verdict: document.getElementById('verdict').textContent.trim(),
    charts: {
      throughput: chart('throughput'),
      error_rate: chart('error-rate'),
      latency: chart('latency'),
    },
    timeline_bars: document.querySelectorAll('#timeline rect.fault-bar').length,
    timeline_labels: document.querySelectorAll('#timeline text.fault-label').length,
    invariant_rows: rows('invariant-table'),
    failed_invariant_rows: document.querySelectorAll('#invariant-table tbody tr.fail').length,
    fault_rows: rows('fault-table'),
    recovery_rows: rows('recovery-table'),
  };
}

// Distinct colours of a PNG, counted on a canvas.
async function colours(b64) {
  const image = new Image();
  image.src = `data:image/png;base64,${b64}`;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < pixels.length; i += 4)
    seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
  return { width: canvas.width, height: canvas.height, colours: seen.size };
}

const profile = mkdtempSync(path.join(tmpdir(), 'troupe-chaos-report-'));
let browser;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: executable,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    timeout: 60000,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors = [];
  const requests = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(page_url, { waitUntil: 'load', timeout: 30000 });
  const seen = await page.evaluate(measure);
  await page.screenshot({ path: screenshot, fullPage: true });

  const faults = result.faults_injected;
  check(seen.verdict === (result.passed ? 'PASSED' : 'FAILED'),
        `verdict ${seen.verdict} matches passed=${result.passed}`);
  for (const [name, chart] of Object.entries(seen.charts)) {
    check(chart !== null, `${name} chart drawn`);
    if (!chart) continue;
    check(chart.paths.length > 0, `${name} chart has ${chart.paths.length} series`);
    for (const p of chart.paths)
      check(p.width > chart.width / 2 && p.height > 10 && p.length > chart.width / 2,
            `${name} series spans ${p.width.toFixed(0)}x${p.height.toFixed(0)} px ` +
            `(chart ${chart.width.toFixed(0)} px wide), ${p.length.toFixed(0)} px long`);
    check(chart.bands === faults, `${name} chart has ${chart.bands} of ${faults} fault bands`);
  }
  check(seen.timeline_bars === faults && seen.timeline_labels === faults,
        `fault timeline has ${seen.timeline_bars} bars, ${seen.timeline_labels} labels`);
  check(seen.invariant_rows === result.invariants.length,
        `invariant table has ${seen.invariant_rows} of ${result.invariants.length} rows`);
  const failing = result.invariants.filter((i) => !i.passed).length;
  check(seen.failed_invariant_rows === failing,
        `${seen.failed_invariant_rows} of ${failing} failing invariants marked`);
  check(seen.fault_rows === faults, `fault table has ${seen.fault_rows} rows`);
  const types = Object.keys(result.recovery_ms_by_fault_type).length;
  check(seen.recovery_rows === types, `recovery table has ${seen.recovery_rows} of ${types} rows`);
  check(errors.length === 0, `no console errors ${errors.length ? JSON.stringify(errors) : ''}`);
  const elsewhere = requests.filter((url) => url !== page_url && !url.startsWith('data:'));
  check(elsewhere.length === 0, `no request but the page ${JSON.stringify(elsewhere)}`);

  // Pointing into a fault band shows that second's values and the fault.
  const band = page.locator('#throughput rect.fault-band').first();
  await page.locator('#throughput').scrollIntoViewIfNeeded();
  const where = await band.boundingBox();
  await page.mouse.move(where.x + where.width / 2, where.y + where.height / 2);
  const fault = `${await band.getAttribute('data-type')} on ${await band.getAttribute('data-target')}`;
  const tip = await page.locator('#throughput .tip').textContent({ timeout: 5000 });
  check(/^\d+:\d\d to \d+:\d\d\nok: \d+\nfailed: \d+\n/.test(tip) && tip.includes(fault),
        `pointer in a fault band shows ${JSON.stringify(tip)}`);
  await page.screenshot({ path: path.resolve(dir, 'report-pointer.png') });

  const blank = await browser.newPage();
  const shot = await blank.evaluate(colours, readFileSync(screenshot).toString('base64'));
  check(shot.width >= 1000 && shot.height >= 900 && shot.colours > 200,
        `screenshot ${screenshot}: ${shot.width}x${shot.height}, ${shot.colours} colours`);
} catch (error) {
  check(false, `report opened and measured: ${error.stack ?? error}`);
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(failures.length ? `${failures.length} checks failed` : 'all checks passed');
process.exit(failures.length ? 1 : 0);
