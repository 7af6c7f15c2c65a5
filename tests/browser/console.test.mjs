// End-to-end test of the console pages (sign-in, home, stock by location) in
// headless Chromium. Run through run.sh, which starts `souk demo` and sets
// SOUK_BASE_URL and SOUK_ARTIFACTS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.SOUK_BASE_URL;
const ARTIFACTS = process.env.SOUK_ARTIFACTS || path.join(import.meta.dirname, 'artifacts');
const PASSWORD = 'souk-demo-password';
const WAREHOUSE = 'Shanghai Cloud Warehouse';
const WEST_LAKE = 'West Lake Store';
const TIMEOUT = 15_000;

if (!BASE) throw new Error('SOUK_BASE_URL must be set; run tests/browser/run.sh');
fs.mkdirSync(ARTIFACTS, { recursive: true });

const tid = (id) => `[data-testid="${id}"]`;
let browser;
let context;
let page;
const pageErrors = [];
const apiRequests = [];

async function shot(name, p = page) {
  await p.evaluate(() => window.scrollTo(0, 0)); // the sticky header belongs at the top of a full-page shot
  await p.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

async function signIn(email, p = page) {
  await p.goto(`${BASE}/console/signin.html`);
  await p.locator(tid('email-input')).fill(email);
  await p.locator(tid('password-input')).fill(PASSWORD);
  await Promise.all([p.waitForURL(/\/console\/(index\.html)?(\?.*)?$/), p.locator(tid('signin-submit')).click()]);
  await p.locator(tid('welcome')).waitFor();
}

async function signOut(p = page) {
  await Promise.all([p.waitForURL(/\/console\/signin\.html/), p.locator(tid('signout')).click()]);
}

const row = (name, p = page) => p.locator(`${tid('stock-row')}[data-location-name="${name}"]`);
async function cell(name, field, p = page) {
  return Number((await row(name, p).locator(`[data-field="${field}"]`).innerText()).replace(/[^\d-]/g, ''));
}

/** Submits the current action form and waits for the success notice (and the refreshed table). */
async function submitOk(button) {
  const before = await page.locator(tid('action-ok')).isVisible() ? await page.locator(tid('action-ok')).innerText() : '';
  await page.locator(tid(button)).click();
  await page.waitForFunction(([sel, prev]) => {
    const el = document.querySelector(sel);
    return el && !el.hidden && el.textContent !== prev && !document.querySelector('[data-testid="sku-view"]').hasAttribute('aria-busy');
  }, [tid('action-ok'), before]);
  assert.equal(await page.locator(`${tid('action-error')} ${tid('error')}`).count(), 0, 'no error after a successful action');
}

/** Submits and expects an error box; returns {status, code, message}. */
async function submitError(button) {
  await page.locator(tid('action-error')).evaluate((el) => { el.replaceChildren(); el.hidden = true; });
  await page.locator(tid(button)).click();
  const err = page.locator(`${tid('action-error')} ${tid('error')}`);
  await err.waitFor();
  return {
    status: Number(await err.getAttribute('data-status')),
    code: await err.getAttribute('data-code'),
    message: await err.locator(tid('error-message')).innerText(),
    shown: await err.innerText(),
  };
}

describe('console', () => {
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(TIMEOUT);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push({ method: r.method(), url: r.url(), headers: r.headers() });
    });
    await context.addInitScript(() => {
      if (!localStorage.getItem('souk.lang')) localStorage.setItem('souk.lang', 'en');
    });
  });

  after(async () => {
    await browser?.close();
  });

  let code = '';
  let skuId = 0;

  test('the storefront links to the console; the console asks for sign-in first', async () => {
    await page.goto(`${BASE}/`);
    const link = page.locator(tid('console-link'));
    assert.equal(await link.getAttribute('href'), '/console/');
    await Promise.all([page.waitForURL(/\/console\/signin\.html\?next=/), link.click()]);
    await page.goto(`${BASE}/console/stock.html`);
    await page.waitForURL(/\/console\/signin\.html\?next=%2Fconsole%2Fstock\.html/);
    await page.locator(tid('signin-form')).waitFor();
    await shot('01-signin');
  });

  test('a wrong password is refused with a visible error', async () => {
    await page.locator(tid('email-input')).fill('operator@souk.demo');
    await page.locator(tid('password-input')).fill('not-the-password');
    await page.locator(tid('signin-submit')).click();
    const err = page.locator(`${tid('error-slot')} ${tid('error')}`);
    await err.waitFor();
    assert.equal(await err.getAttribute('data-status'), '401');
    assert.ok((await err.locator(tid('error-message')).innerText()).length > 0);
    await shot('02-signin-wrong-password');
  });

  test('operator signs in and sees the console home with the operator grant', async () => {
    await signIn('operator@souk.demo');
    assert.match(await page.locator(tid('welcome')).innerText(), /Market Operator/);
    const roles = await page.locator(tid('grant')).evaluateAll((els) => els.map((e) => e.dataset.role));
    assert.deepEqual(roles, ['operator']);
    assert.ok(await page.evaluate(() => localStorage.getItem('souk.console.token')), 'console token stored under souk.console.token');
    assert.equal(await page.evaluate(() => localStorage.getItem('souk.token')), null, 'the storefront session is left alone');
    assert.ok(await page.locator(tid('my-locations')).getByText(WAREHOUSE).isVisible());
    await shot('03-home-operator');
  });

  test('operator finds a SKU by product search and sees its stock by location', async () => {
    await Promise.all([page.waitForURL(/stock\.html/), page.locator(tid('link-stock')).click()]);
    await page.locator(tid('pick-first')).waitFor();
    await page.locator(tid('product-search-input')).fill('dress');
    await page.locator(tid('product-search-submit')).click();
    await page.locator(tid('product-result')).first().waitFor();
    await shot('04-stock-search');
    await page.locator(tid('product-result')).first().click();
    const opt = page.locator(tid('sku-option')).first();
    await opt.waitFor();
    code = await opt.getAttribute('data-code');
    skuId = Number(await opt.getAttribute('data-sku-id'));
    await opt.click();
    await page.locator(tid('stock-table')).waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid="sku-view"]').hasAttribute('aria-busy'));
    assert.equal(await page.locator(tid('sku-code')).innerText(), code);
    const names = await page.locator(tid('stock-row')).evaluateAll((els) => els.map((e) => e.dataset.locationName));
    assert.ok(names.includes(WAREHOUSE) && names.includes(WEST_LAKE), `operator sees every location: ${names}`);
    const offered = await page.locator(`${tid('receive-location')} option`).allInnerTexts();
    assert.equal(offered.length, names.length, 'every visible location is offered');
    assert.match(page.url(), new RegExp(`code=${code}`), 'the SKU is in the address, so the page can be reloaded');
  });

  test('receive 5 at the cloud warehouse: on-hand goes up by 5 and the ledger shows a receive row', async () => {
    const before = await cell(WAREHOUSE, 'on_hand');
    await page.locator(tid('tab-receive')).click();
    await page.locator(tid('receive-location')).selectOption({ label: WAREHOUSE });
    await page.locator(tid('receive-qty')).fill('5');
    await page.locator(tid('receive-note')).fill('PO 4711 from factory');
    await submitOk('receive-submit');
    assert.equal(await cell(WAREHOUSE, 'on_hand'), before + 5);
    const first = page.locator(tid('ledger-row')).first();
    assert.equal(await first.getAttribute('data-reason'), 'receive');
    assert.match(await first.innerText(), /PO 4711 from factory/);
    assert.match(await first.innerText(), /\+5/);
    assert.match(await page.locator(tid('action-ok')).innerText(), /Received 5 at Shanghai Cloud Warehouse/);
    assert.ok(Number((await page.locator(tid('stat-atp')).innerText()).replace(/\D/g, '')) >= 5, 'available to promise includes the new units');
    await shot('05-stock-received');
  });

  test('adjust −1 with a note', async () => {
    const before = await cell(WAREHOUSE, 'on_hand');
    await page.locator(tid('tab-adjust')).click();
    await page.locator(tid('adjust-location')).selectOption({ label: WAREHOUSE });
    await page.locator(tid('adjust-delta')).fill('-1');
    await page.locator(tid('adjust-note')).fill('cycle count: 1 damaged');
    await submitOk('adjust-submit');
    assert.equal(await cell(WAREHOUSE, 'on_hand'), before - 1);
    const first = page.locator(tid('ledger-row')).first();
    assert.equal(await first.getAttribute('data-reason'), 'adjust');
    assert.match(await first.innerText(), /cycle count: 1 damaged/);
  });

  test('an adjustment without a note is refused with a 422 shown', async () => {
    const before = await cell(WAREHOUSE, 'on_hand');
    await page.locator(tid('adjust-delta')).fill('-1');
    await page.locator(tid('adjust-note')).fill('');
    const e = await submitError('adjust-submit');
    assert.equal(e.status, 422, JSON.stringify(e));
    assert.match(e.message, /note/i);
    assert.match(e.shown, /422/);
    assert.equal(await cell(WAREHOUSE, 'on_hand'), before, 'nothing changed');
    await shot('06-stock-adjust-no-note');
  });

  test('an adjustment below the reserved units is refused with a 409 shown', async () => {
    // Hold 2 units at the warehouse, the way a checkout would.
    const held = await page.evaluate(async ([sku, base]) => {
      const token = localStorage.getItem('souk.console.token');
      const locs = await (await fetch(`${base}/api/v1/locations`, { headers: { Authorization: `Bearer ${token}` } })).json();
      const wh = locs.items.find((l) => l.kind === 'cloud_warehouse');
      const r = await fetch(`${base}/api/v1/reservations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
        body: JSON.stringify({ sku_id: sku, qty: 2, location_id: wh.id }),
      });
      return r.status;
    }, [skuId, BASE]);
    assert.equal(held, 201);
    await page.locator(tid('refresh')).click();
    await page.waitForFunction(([sel]) => {
      const r = document.querySelector(sel);
      return r && Number(r.textContent.replace(/\D/g, '')) >= 2;
    }, [`${tid('stock-row')}[data-location-name="${WAREHOUSE}"] [data-field="reserved"]`]);
    const onHand = await cell(WAREHOUSE, 'on_hand');
    const reserved = await cell(WAREHOUSE, 'reserved');
    await page.locator(tid('adjust-location')).selectOption({ label: WAREHOUSE });
    await page.locator(tid('adjust-delta')).fill(String(reserved - onHand - 1));
    await page.locator(tid('adjust-note')).fill('count says almost nothing is left');
    const e = await submitError('adjust-submit');
    assert.equal(e.status, 409, JSON.stringify(e));
    assert.equal(e.code, 'illegal_transition');
    assert.match(e.message, /reserved/);
    assert.equal(await cell(WAREHOUSE, 'on_hand'), onHand, 'nothing changed');
    await shot('07-stock-adjust-below-reserved');
  });

  test('a zero quantity is refused with invalid_quantity', async () => {
    await page.locator(tid('tab-receive')).click();
    await page.locator(tid('receive-qty')).fill('0');
    const e = await submitError('receive-submit');
    assert.equal(e.status, 422);
    assert.equal(e.code, 'invalid_quantity');
  });

  test('safety stock and a transfer to the West Lake Store, booked in there', async () => {
    await page.locator(tid('tab-safety')).click();
    await page.locator(tid('safety-location')).selectOption({ label: WAREHOUSE });
    await page.locator(tid('safety-qty')).fill('1');
    await submitOk('safety-submit');
    assert.equal(await cell(WAREHOUSE, 'safety'), 1);
    assert.equal(await page.locator(tid('ledger-row')).first().getAttribute('data-reason'), 'set_safety');

    const whBefore = await cell(WAREHOUSE, 'on_hand');
    const wlBefore = await cell(WEST_LAKE, 'on_hand');
    await page.locator(tid('tab-transfer')).click();
    await page.locator(tid('transfer-from')).selectOption({ label: WAREHOUSE });
    await page.locator(tid('transfer-to')).selectOption({ label: WEST_LAKE });
    await page.locator(tid('transfer-qty')).fill('1');
    await submitOk('transfer-submit');
    assert.equal(await cell(WAREHOUSE, 'on_hand'), whBefore - 1);
    const item = page.locator(tid('transit-item')).first();
    await item.waitFor();
    assert.match(await item.innerText(), /Shanghai Cloud Warehouse → West Lake Store/);
    await shot('08-stock-in-transit');
    await item.locator(tid('transit-receive')).click();
    await page.waitForFunction((sel) => !document.querySelector(sel), tid('transit-item'));
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel)?.textContent.replace(/\D/g, '')) === n,
      [`${tid('stock-row')}[data-location-name="${WEST_LAKE}"] [data-field="on_hand"]`, wlBefore + 1]);
    const reasons = await page.locator(tid('ledger-row')).evaluateAll((els) => els.slice(0, 2).map((e) => e.dataset.reason));
    assert.deepEqual(reasons, ['transfer_in', 'transfer_out']);
    await shot('09-stock-1280');
  });

  test('the stock page on a phone-sized screen', async () => {
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`));
    await p.setViewportSize({ width: 390, height: 844 });
    await p.goto(`${BASE}/console/stock.html?code=${encodeURIComponent(code)}`);
    await row(WAREHOUSE, p).waitFor();
    await p.waitForFunction(() => !document.querySelector('[data-testid="sku-view"]').hasAttribute('aria-busy'));
    await shot('10-stock-mobile', p);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling of the page (overflow ${overflow}px)`);
    await p.goto(`${BASE}/console/`);
    await p.locator(tid('welcome')).waitFor();
    await shot('11-home-mobile', p);
    await p.close();
  });

  test('the clerk of the West Lake Store is offered only that store', async () => {
    await page.goto(`${BASE}/console/`);
    await signOut();
    assert.equal(await page.evaluate(() => localStorage.getItem('souk.console.token')), null, 'sign-out forgets the token');
    await signIn('clerk1@souk.demo');
    const roles = await page.locator(tid('grant')).evaluateAll((els) => els.map((e) => e.dataset.role));
    assert.deepEqual(roles, ['store_clerk']);
    assert.match(await page.locator(tid('grants')).innerText(), /West Lake Store/);
    await page.goto(`${BASE}/console/stock.html?code=${encodeURIComponent(code)}`);
    await row(WEST_LAKE).waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid="sku-view"]').hasAttribute('aria-busy'));
    for (const sel of ['receive-location', 'adjust-location', 'safety-location', 'transfer-from']) {
      assert.deepEqual(await page.locator(`${tid(sel)} option`).allInnerTexts(), [WEST_LAKE], `${sel} offers only the clerk's store`);
    }
    const names = await page.locator(tid('stock-row')).evaluateAll((els) => els.map((e) => e.dataset.locationName));
    assert.deepEqual(names, [WEST_LAKE]);
    assert.ok(await cell(WEST_LAKE, 'on_hand') >= 1, 'the transferred unit is on the shelf');
    assert.equal(await page.locator(`${tid('ledger-row')}[data-location-id]:not([data-location-id="2"])`).count(), 0, 'ledger rows of other locations are hidden');
    await page.locator(tid('tab-receive')).click();
    await page.locator(tid('receive-qty')).fill('2');
    await submitOk('receive-submit');
    assert.match(await page.locator(tid('action-ok')).innerText(), /West Lake Store/);
    await shot('12-stock-clerk');
  });

  test('a supplier is offered only its own warehouse and cannot read another supplier\'s SKU', async () => {
    await page.goto(`${BASE}/console/`);
    await signOut();
    await signIn('supplier1@souk.demo');
    await page.goto(`${BASE}/console/stock.html?code=${encodeURIComponent(code)}`); // Classic Dress: supplier 1's
    await row('Hangzhou Silk Works Warehouse').waitFor();
    assert.deepEqual(await page.locator(`${tid('receive-location')} option`).allInnerTexts(), ['Hangzhou Silk Works Warehouse']);
    await page.locator(tid('tab-transfer')).click();
    assert.ok(await page.locator(tid('transfer-hint')).isVisible(), 'says why no transfer is possible');
    assert.ok(await page.locator(tid('transfer-submit')).isDisabled());
    // A SKU of another supplier: the API answers 404; the page says so and shows only public availability.
    const other = await page.evaluate(async (base) => {
      const list = await (await fetch(`${base}/api/v1/products?limit=50`)).json();
      const p = list.items.find((x) => x.supplier_id !== 1);
      const d = await (await fetch(`${base}/api/v1/products/${p.id}`)).json();
      return d.skus[0].code;
    }, BASE);
    await page.locator(tid('code-input')).fill(other);
    await page.locator(tid('code-submit')).click();
    const err = page.locator(`${tid('error-slot')} ${tid('error')}`);
    await err.waitFor();
    assert.equal(await err.getAttribute('data-status'), '404');
    assert.ok(await page.locator(tid('stat-atp')).isVisible(), 'public availability still shown');
    assert.ok(!(await page.locator(tid('stock-table')).isVisible()), 'no levels table for a SKU that is not yours');
    assert.ok(!(await page.locator(tid('receive-form')).isVisible()), 'no actions for a SKU that is not yours');
    await shot('13-stock-supplier-other-sku');
  });

  test('the console follows the language switch', async () => {
    await page.goto(`${BASE}/console/stock.html?code=${encodeURIComponent(code)}`);
    await row('Hangzhou Silk Works Warehouse').waitFor();
    await Promise.all([page.waitForEvent('load'), page.locator(tid('lang-switch')).selectOption('zh-CN')]);
    await row('Hangzhou Silk Works Warehouse').waitFor();
    assert.equal(await page.locator('h1').first().innerText(), '分库位库存');
    await shot('14-stock-zh');
    await Promise.all([page.waitForEvent('load'), page.locator(tid('lang-switch')).selectOption('en')]);
  });

  test('no JavaScript errors; mutating calls carry an Idempotency-Key and a bearer token', () => {
    assert.deepEqual(pageErrors, []);
    const writes = apiRequests.filter((r) => r.method !== 'GET' && !r.url.endsWith('/auth/password'));
    assert.ok(writes.length >= 8, `writes seen: ${writes.length}`);
    for (const w of writes) {
      assert.match(w.headers['idempotency-key'] || '', /^[0-9a-f-]{36}$/, `${w.method} ${w.url} has an Idempotency-Key`);
      assert.match(w.headers.authorization || '', /^Bearer \S+$/, `${w.method} ${w.url} has a bearer token`);
    }
  });
});
