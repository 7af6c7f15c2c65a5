// End-to-end test of the storefront pages in headless Chromium.
// Run through run.sh, which starts `souk demo` and sets:
//   SOUK_BASE_URL    http://127.0.0.1:PORT of the running server
//   SOUK_SERVER_LOG  file the server's stdout/stderr go to (OTP codes are read from it)
//   SOUK_ARTIFACTS   folder for screenshots
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, logSize as logSizeOf, waitForOtp as waitForOtpIn } from './helpers.mjs';

const BASE = process.env.SOUK_BASE_URL;
const LOG = process.env.SOUK_SERVER_LOG;
const ARTIFACTS = process.env.SOUK_ARTIFACTS || path.join(import.meta.dirname, 'artifacts');
const PHONE = '+8613800138000';
const PHONE_2 = '+8613800138001';
const TIMEOUT = 15_000;

if (!BASE || !LOG) {
  throw new Error('SOUK_BASE_URL and SOUK_SERVER_LOG must be set; run tests/browser/run.sh');
}
fs.mkdirSync(ARTIFACTS, { recursive: true });

const logSize = () => logSizeOf(LOG);
const waitForOtp = (phone, offset, timeoutMs = TIMEOUT) => waitForOtpIn(LOG, phone, offset, timeoutMs);

let browser;
let context;
let page;
const pageErrors = [];
const apiRequests = [];

async function shot(name, p = page) {
  await p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const tid = (id) => `[data-testid="${id}"]`;

async function cardTitles(p = page) {
  return p.locator(`${tid('product-card')} ${tid('card-title')}`).allInnerTexts();
}

/** Sets the UI language the way a person does: with the header's switch (the page reloads). */
async function switchLanguage(tag) {
  const sel = page.locator(tid('lang-switch'));
  await sel.waitFor();
  if ((await sel.inputValue()) === tag) return;
  await Promise.all([page.waitForEvent('load'), sel.selectOption(tag)]);
  await page.waitForFunction((t) => document.documentElement.lang === t, tag);
}

describe('storefront', () => {
  before(async () => {
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(TIMEOUT);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push({ method: r.method(), url: r.url(), headers: r.headers() });
    });
    // Start in English whatever the machine's locale.
    await page.addInitScript(() => {
      if (!localStorage.getItem('souk.lang')) localStorage.setItem('souk.lang', 'en');
    });
  });

  after(async () => {
    await browser?.close();
  });

  let firstWord = '';
  let initialCount = 0;

  test('home page lists products and categories', async () => {
    await page.goto(`${BASE}/`);
    await page.locator(tid('product-card')).first().waitFor();
    initialCount = await page.locator(tid('product-card')).count();
    assert.ok(initialCount > 0, 'at least one product card');
    const titles = await cardTitles();
    assert.ok(titles.every((x) => x.trim().length > 0), 'every card has a title');
    const prices = await page.locator(tid('card-price')).allInnerTexts();
    assert.ok(prices.some((p) => /\d/.test(p)), `some card shows a price: ${prices.slice(0, 3)}`);
    const categories = await page.locator(`${tid('category-filter')} option`).count();
    assert.ok(categories > 1, 'category filter is filled from /api/v1/categories');
    await assert.doesNotReject(page.locator(tid('signin-link')).waitFor(), 'signed-out header offers sign-in');
    // Images the API names load (the demo's point into web/assets/img/).
    await page.waitForFunction(() => [...document.querySelectorAll('.card-media img')].every((i) => i.complete));
    const broken = await page.locator('[data-broken-src]').evaluateAll((els) => els.map((e) => e.dataset.brokenSrc));
    assert.deepEqual(broken, [], 'every product image loads');
    await shot('01-index');
  });

  test('search narrows the results to matching titles', async () => {
    const [first] = await cardTitles();
    firstWord = first.trim().split(/\s+/)[0];
    assert.ok(firstWord, 'first card title has a word');
    await page.locator(tid('search-input')).fill(firstWord);
    await page.locator(tid('search-input')).press('Enter');
    await page.waitForURL((u) => u.searchParams.get('q') === firstWord);
    await page.waitForFunction(
      ([sel, word]) => {
        const grid = document.querySelector('[data-testid="product-grid"]');
        const titles = [...document.querySelectorAll(sel)].map((e) => e.textContent.toLowerCase());
        return grid.getAttribute('aria-busy') === 'false' && titles.length > 0
          && titles.every((x) => x.includes(word.toLowerCase()));
      },
      [`${tid('product-card')} ${tid('card-title')}`, firstWord],
    );
    const titles = await cardTitles();
    assert.ok(titles.length >= 1 && titles.length <= initialCount, `results narrowed: ${titles.length} of ${initialCount}`);
    for (const x of titles) assert.match(x.toLowerCase(), new RegExp(firstWord.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await shot('02-search');
  });

  test('a search with no match shows the empty state, clearing brings products back', async () => {
    await page.locator(tid('search-input')).fill('zzqxjvnomatch');
    await page.locator(tid('search-input')).press('Enter');
    await page.locator(tid('empty-state')).waitFor();
    assert.equal(await page.locator(tid('product-card')).count(), 0);
    await shot('03-empty');
    await page.locator(tid('clear-filters')).click();
    await page.locator(tid('product-card')).first().waitFor();
    assert.equal(await page.locator(tid('search-input')).inputValue(), '');
  });

  test('category filter and load more work without errors', async () => {
    const options = page.locator(`${tid('category-filter')} option`);
    const value = await options.nth(1).getAttribute('value');
    await page.locator(tid('category-filter')).selectOption(value);
    await page.waitForURL((u) => u.searchParams.get('category') === value);
    await page.waitForFunction(() => document.querySelector('[data-testid="product-grid"]').getAttribute('aria-busy') === 'false');
    const cards = await page.locator(tid('product-card')).count();
    const empty = await page.locator(tid('empty-state')).isVisible();
    assert.ok(cards > 0 || empty, 'category shows products or the empty state');
    assert.equal(await page.locator(tid('error')).count(), 0, 'no error shown');

    await page.locator(tid('category-filter')).selectOption('');
    await page.locator(tid('product-card')).first().waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="product-grid"]').getAttribute('aria-busy') === 'false');
    const more = page.locator(tid('load-more'));
    if (await more.isVisible()) {
      const before = await page.locator(tid('product-card')).count();
      await more.click();
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="product-card"]').length > n, before);
      const ids = await page.locator(tid('product-card')).evaluateAll((els) => els.map((e) => e.dataset.productId));
      assert.equal(new Set(ids).size, ids.length, 'load more appends new products, no duplicates');
    }
  });

  let productUrl = '';
  let titleEn = '';

  test('product page shows title, SKUs, and the selector picks SKUs', async () => {
    await page.goto(`${BASE}/?q=${encodeURIComponent(firstWord)}`);
    const card = page.locator(tid('product-card')).first();
    await card.waitFor();
    const cardTitle = (await card.locator(tid('card-title')).innerText()).trim();
    await Promise.all([page.waitForURL(/\/product\.html\?id=\d+/), card.click()]);
    productUrl = page.url().replace(/&sku=\d+/, '');
    const title = page.locator(tid('product-title'));
    await title.waitFor();
    titleEn = (await title.innerText()).trim();
    assert.ok(titleEn.length > 0, 'product has a title');
    assert.equal(titleEn, cardTitle, 'product page title matches the card');
    const rows = page.locator(tid('sku-row'));
    assert.ok((await rows.count()) >= 1, 'at least one SKU row');
    await checkSelector();
    await shot('04-product');
  });

  /** Clicks through colour × size and checks the shown SKU code follows the SKU table. */
  async function checkSelector() {
    const skus = await page.locator(tid('sku-row')).evaluateAll((els) =>
      els.map((e) => ({ code: e.dataset.code, color: e.dataset.color, size: e.dataset.size })));
    const shown = () => page.locator(tid('sku-code')).innerText();
    assert.equal((await shown()).trim(), skus[0].code, 'first SKU is chosen at first');
    const colors = await page.locator(tid('color-option')).evaluateAll((els) => els.map((e) => e.dataset.value));
    const sizes = await page.locator(tid('size-option')).evaluateAll((els) => els.map((e) => e.dataset.value));
    // Choose, for some other SKU, its colour then its size: the shown code must become that SKU's.
    const targets = skus.slice(1).concat(skus.slice(0, 1)).slice(0, 4);
    for (const sku of targets) {
      if (colors.length && sku.color) await page.locator(`${tid('color-option')}[data-value="${sku.color}"]`).click();
      if (sizes.length && sku.size) await page.locator(`${tid('size-option')}[data-value="${sku.size}"]`).click();
      await page.waitForFunction((code) => document.querySelector('[data-testid="sku-code"]').textContent.trim() === code, sku.code);
      const price = (await page.locator(tid('sku-price')).innerText()).trim();
      assert.match(price, /\d/, `price shown for ${sku.code}`);
      const sel = await page.locator(`${tid('sku-row')}.is-selected`).getAttribute('data-code');
      assert.equal(sel, sku.code, 'the chosen SKU is highlighted in the table');
    }
    if (skus.length > 1) {
      const distinct = new Set(targets.map((s) => s.code));
      assert.ok(distinct.size > 1, 'selector visited more than one SKU');
    }
  }

  test('product page follows the language switch (zh-CN title differs from en)', async () => {
    await switchLanguage('zh-CN');
    const title = page.locator(tid('product-title'));
    await title.waitFor();
    const titleZh = (await title.innerText()).trim();
    assert.ok(titleZh.length > 0);
    assert.notEqual(titleZh, titleEn, 'zh-CN title differs from the English one');
    assert.match(titleZh, /[\u3400-\u9fff]/, 'zh-CN title has Chinese characters');
    const heading = await page.locator('[data-i18n="description"]').innerText();
    assert.equal(heading, '商品描述', 'UI strings follow the language');
    await shot('05-product-zh');
    // The home page's titles follow too, and the choice survives navigation.
    await page.goto(`${BASE}/`);
    await page.locator(tid('product-card')).first().waitFor();
    assert.equal(await page.locator(tid('lang-switch')).inputValue(), 'zh-CN');
    await shot('06-index-zh');
    await switchLanguage('en');
    await page.goto(productUrl);
    await page.locator(tid('product-title')).waitFor();
    assert.equal((await page.locator(tid('product-title')).innerText()).trim(), titleEn);
  });

  test('an unknown product shows an error, not a blank page', async () => {
    await page.goto(`${BASE}/product.html?id=999999999`);
    const err = page.locator(tid('error'));
    await err.waitFor();
    assert.ok((await page.locator(tid('error-message')).innerText()).trim().length > 0, 'error has a message');
    assert.equal(await page.locator(tid('product')).isVisible(), false);
    await shot('07-product-404');
  });

  test('an unknown page gets the 404 page with a way back', async () => {
    const res = await page.goto(`${BASE}/no-such-page`);
    assert.equal(res.status(), 404);
    await page.locator(tid('not-found')).waitFor();
    await page.locator(tid('lang-switch')).waitFor();
  });

  test('API errors are shown with their message and a retry', async () => {
    await page.route('**/api/v1/products?*', (route) => route.fulfill({
      status: 503, contentType: 'application/json',
      body: JSON.stringify({ code: 'unavailable', message: 'The catalogue is resting; try again shortly.' }),
    }));
    await page.goto(`${BASE}/`);
    const err = page.locator(tid('error'));
    await err.waitFor();
    assert.equal(await err.getAttribute('data-code'), 'unavailable');
    assert.match(await page.locator(tid('error-message')).innerText(), /resting/);
    await shot('08-index-api-error');
    await page.unroute('**/api/v1/products?*');
    await err.getByRole('button').click();
    await page.locator(tid('product-card')).first().waitFor();
    assert.equal(await page.locator(tid('error')).count(), 0, 'error cleared after a successful retry');
  });

  test('phone sign-in with a one-time code', async () => {
    await page.goto(`${BASE}/`);
    await page.locator(tid('signin-link')).click();
    await page.waitForURL(/\/signin\.html/);
    await page.locator(tid('phone-input')).fill(PHONE);
    await shot('09-signin');
    const offset = logSize();
    await page.locator(tid('send-code')).click();
    await page.locator(tid('code-input')).waitFor();
    await page.locator(tid('otp-sent')).waitFor();
    const code = await waitForOtp(PHONE, offset);

    // A wrong code is refused with a visible error.
    const wrong = code.split('').map((d) => String((Number(d) + 1) % 10)).join('');
    await page.locator(tid('code-input')).fill(wrong);
    await page.locator(tid('verify-code')).click();
    await page.locator(tid('error')).waitFor();
    await shot('10-signin-wrong-code');

    await page.locator(tid('code-input')).fill(code);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/'),
      page.locator(tid('verify-code')).click(),
    ]);
    const who = page.locator(tid('account-phone'));
    await who.waitFor();
    assert.match(await who.innerText(), /8000/, 'header shows the signed-in phone');
    assert.equal(await who.getAttribute('data-phone'), PHONE);
    assert.ok(await page.evaluate(() => localStorage.getItem('souk.token')), 'token kept in localStorage');
    await page.locator(tid('product-card')).first().waitFor();
    await shot('11-index-signed-in');
  });

  test('sign-out returns the header to the signed-out state', async () => {
    await page.goto(`${BASE}/signin.html`);
    await page.locator(tid('already-signed-in')).waitFor();
    await page.goto(`${BASE}/`);
    await page.locator(tid('signout')).click();
    await page.locator(tid('signin-link')).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('souk.token')), null);
    await page.reload();
    await page.locator(tid('signin-link')).waitFor();
  });

  test('pages look right on a phone-sized screen', async () => {
    const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p = await mobile.newPage();
    p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`));
    await p.goto(`${BASE}/`);
    await p.locator(tid('product-card')).first().waitFor();
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
    await p.screenshot({ path: path.join(ARTIFACTS, '12-index-mobile.png') });
    await p.goto(productUrl);
    await p.locator(tid('product-title')).waitFor();
    await p.screenshot({ path: path.join(ARTIFACTS, '13-product-mobile.png'), fullPage: true });

    // Signed in, the header still fits a phone's width.
    await p.goto(`${BASE}/signin.html`);
    await p.locator(tid('phone-input')).fill(PHONE_2);
    const offset = logSize();
    await p.locator(tid('send-code')).click();
    await p.locator(tid('code-input')).fill(await waitForOtp(PHONE_2, offset));
    await Promise.all([p.waitForURL((u) => u.pathname === '/'), p.locator(tid('verify-code')).click()]);
    await p.locator(tid('signout')).waitFor();
    await p.locator(tid('product-card')).first().waitFor();
    const overflowIn = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflowIn <= 1, `signed-in header fits a phone (overflow ${overflowIn}px)`);
    await p.screenshot({ path: path.join(ARTIFACTS, '14-index-mobile-signed-in.png') });
    await mobile.close();
  });

  test('no JavaScript errors on any page', () => {
    assert.deepEqual(pageErrors, []);
  });

  test('every API call carries Accept-Language; mutating calls an Idempotency-Key; signed-in calls a bearer token', () => {
    assert.ok(apiRequests.length > 0);
    for (const r of apiRequests) {
      assert.match(r.headers['accept-language'] || '', /^(en|zh-CN)$/, `${r.method} ${r.url} Accept-Language`);
      if (r.method !== 'GET') {
        assert.match(r.headers['idempotency-key'] || '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
          `${r.method} ${r.url} Idempotency-Key`);
      }
    }
    const me = apiRequests.filter((r) => r.url.endsWith('/api/v1/me'));
    assert.ok(me.length > 0, '/api/v1/me was called after sign-in');
    for (const r of me) assert.match(r.headers.authorization || '', /^Bearer \S+$/);
    const logout = apiRequests.find((r) => r.url.endsWith('/api/v1/auth/logout'));
    assert.ok(logout && /^Bearer \S+$/.test(logout.headers.authorization || ''), 'logout sends the token');
  });
});
