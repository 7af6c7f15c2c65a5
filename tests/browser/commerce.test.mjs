// End-to-end test of the commerce pages in headless Chromium: add to cart,
// cart and checkout paid by the QR sandbox, the buyer's order page and
// orders list, cancelling, scan-to-order, and the store clerk's POS paid in
// cash with a receipt. Run through run.sh, which starts `souk demo` and sets
// SOUK_BASE_URL, SOUK_SERVER_LOG and SOUK_ARTIFACTS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TIMEOUT, apiCall, launch, logSize, overflowX, tid, waitForOtp } from './helpers.mjs';

const BASE = process.env.SOUK_BASE_URL;
const LOG = process.env.SOUK_SERVER_LOG;
const ARTIFACTS = process.env.SOUK_ARTIFACTS || path.join(import.meta.dirname, 'artifacts');
const BUYER = '+8613800000002';
const MEMBER = '+8613800000001';
const PASSWORD = 'souk-demo-password';
// Its own campaign (channel any), so it works online and at the till; the demo's
// WELCOME10 is online only.
const COUPON = 'BROWSER10';

if (!BASE || !LOG) throw new Error('SOUK_BASE_URL and SOUK_SERVER_LOG must be set; run tests/browser/run.sh');
fs.mkdirSync(ARTIFACTS, { recursive: true });

let browser;
let context;
let page;
const pageErrors = [];
const apiRequests = [];
const fx = {}; // fixtures: tokens, locations, SKUs

async function shot(name, p = page) {
  await p.evaluate(() => window.scrollTo(0, 0));
  await p.screenshot({ path: path.join(ARTIFACTS, `commerce-${name}.png`), fullPage: true });
}

function watch(p) {
  p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`));
  p.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push({ method: r.method(), url: r.url(), headers: r.headers() });
  });
  return p;
}

const minor = (s) => {
  const m = /(-?)[^\d-]*([\d,]+)(?:\.(\d{2}))?/.exec(s.replace(/\s/g, ''));
  return m ? (m[1] ? -1 : 1) * (Number(m[2].replace(/,/g, '')) * 100 + Number(m[3] || 0)) : NaN;
};

async function signInBuyer(p, phone, next) {
  await p.goto(`${BASE}/signin.html?next=${encodeURIComponent(next)}`);
  await p.locator(tid('phone-input')).fill(phone);
  const offset = logSize(LOG);
  await p.locator(tid('send-code')).click();
  await p.locator(tid('code-input')).waitFor();
  await p.locator(tid('code-input')).fill(await waitForOtp(LOG, phone, offset));
  await Promise.all([p.waitForURL((u) => u.pathname + u.search === next), p.locator(tid('verify-code')).click()]);
  await p.locator(tid('signout')).waitFor();
}

async function stockAt(skuId, locationId) {
  const { items } = await apiCall(BASE, `/api/v1/stock?sku_id=${skuId}`, { token: fx.operator });
  return items.find((l) => l.location_id === locationId)?.on_hand ?? 0;
}

describe('commerce', () => {
  before(async () => {
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(TIMEOUT);
    await context.addInitScript(() => {
      if (!localStorage.getItem('souk.lang')) localStorage.setItem('souk.lang', 'en');
    });
    page = watch(await context.newPage());

    // Set-up through the API as the operator: stock to sell and a coupon.
    fx.operator = (await apiCall(BASE, '/api/v1/auth/password', { method: 'POST', body: { email: 'operator@souk.demo', password: PASSWORD } })).token;
    const { items: locations } = await apiCall(BASE, '/api/v1/locations', { token: fx.operator });
    fx.warehouse = locations.find((l) => l.kind === 'cloud_warehouse').id;
    fx.westLake = locations.find((l) => l.name === 'West Lake Store');
    const { items: products } = await apiCall(BASE, '/api/v1/products?limit=20');
    const skusOf = async (p) => (await apiCall(BASE, `/api/v1/products/${p.id}`)).skus;
    fx.online = { product: products[0], skus: await skusOf(products[0]) };
    fx.scan = { product: products[1], sku: (await skusOf(products[1]))[0] };
    fx.pos = { product: products[2], sku: (await skusOf(products[2]))[0] };
    for (const sku of fx.online.skus.slice(0, 2)) {
      await apiCall(BASE, '/api/v1/stock/receive', { method: 'POST', token: fx.operator, body: { sku_id: sku.id, location_id: fx.warehouse, qty: 20 } });
    }
    await apiCall(BASE, '/api/v1/stock/receive', { method: 'POST', token: fx.operator, body: { sku_id: fx.scan.sku.id, location_id: fx.warehouse, qty: 10 } });
    await apiCall(BASE, '/api/v1/stock/receive', { method: 'POST', token: fx.operator, body: { sku_id: fx.pos.sku.id, location_id: fx.westLake.id, qty: 10 } });
    const now = Date.now();
    await apiCall(BASE, '/api/v1/campaigns', {
      method: 'POST', token: fx.operator,
      body: {
        name: 'Welcome 10%', currency: 'CNY', discount: { type: 'percent_off', bps: 1000 }, channel: 'any',
        starts_at_ms: now - 3_600_000, ends_at_ms: now + 86_400_000, code_kind: 'shared', code: COUPON, stackable: false,
      },
    });
  });

  after(async () => {
    await browser?.close();
  });

  let orderId = 0;
  let cartOrderId = 0;

  test('scan-to-order: a code scanned in a store is ordered for home delivery from that store', async () => {
    const url = `/scan.html?code=${encodeURIComponent(fx.scan.sku.code)}&store=${fx.westLake.id}`;
    await signInBuyer(page, BUYER, url);
    await page.locator(tid('scan-item')).waitFor();
    assert.equal(await page.locator(tid('scan-sku-code')).innerText(), fx.scan.sku.code);
    assert.match(await page.locator(tid('scan-store')).innerText(), /West Lake Store/);
    await page.locator(tid('scan-qty')).fill('1');
    await page.locator(tid('method-wechat_pay')).check();
    await shot('07-scan');
    await page.locator(tid('scan-place')).click();
    await page.locator(tid('qr-pay')).waitFor();
    assert.match(await page.locator(tid('qr-payload')).innerText(), /^souk-sandbox:\/\/wechat_pay\//);
    await Promise.all([page.waitForURL(/\/order\.html\?id=\d+/, { timeout: 30_000 }), page.locator(tid('sandbox-approve')).click()]);
    await page.locator(tid('order')).waitFor();
    assert.equal(await page.locator(tid('order-channel')).getAttribute('data-channel'), 'scan_to_order');
    assert.equal(await page.locator(tid('order-state')).getAttribute('data-state'), 'paid');
    const id = Number(new URL(page.url()).searchParams.get('id'));
    orderId = id;
    const states = await page.locator(tid('history-event')).evaluateAll((els) => els.map((e) => e.dataset.to));
    assert.deepEqual(states.slice(0, 2), ['pending_payment', 'paid'], `history: ${states}`);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="line-title"]')].every((e) => !e.textContent.startsWith('SKU #')));
    assert.match(await page.locator(tid('order-line')).innerText(), new RegExp(fx.scan.sku.code), 'the line names its SKU');
    assert.equal(await page.locator(tid('payment-row')).getAttribute('data-state'), 'captured');
    await shot('07b-scan-order-paid');
    const token = await page.evaluate(() => localStorage.getItem('souk.token'));
    const o = await apiCall(BASE, `/api/v1/orders/${id}`, { token });
    assert.equal(o.origin_location_id, fx.westLake.id, 'the store is the order\'s origin');
    assert.equal(o.fulfilment_kind, 'deliver');
  });

  test('an unknown scanned code is a clear error', async () => {
    await page.goto(`${BASE}/scan.html?code=NO-SUCH-SKU&store=${fx.westLake.id}`);
    const err = page.locator(`${tid('error-slot')} ${tid('error')}`);
    await err.waitFor();
    assert.equal(await err.getAttribute('data-status'), '404');
    assert.equal(await page.locator(tid('scan-order')).isVisible(), false);
  });

  test('my orders lists the order; an unpaid order is cancelled from its page', async () => {
    await Promise.all([page.waitForURL(/\/orders\.html/), page.locator(tid('orders-link')).click()]);
    const card = page.locator(`${tid('order-card')}[data-order-id="${orderId}"]`);
    await card.waitFor();
    assert.equal(await card.getAttribute('data-state'), 'paid');
    await shot('05-orders');

    // An order left unpaid (made through the API), cancelled on its page.
    const token = await page.evaluate(() => localStorage.getItem('souk.token'));
    const { order } = await apiCall(BASE, '/api/v1/checkout', {
      method: 'POST', token,
      body: { lines: [{ sku_id: fx.online.skus[0].id, qty: 1 }], fulfilment: { type: 'deliver', region: 'Shanghai' }, payment_method: 'wechat_pay' },
    });
    await page.goto(`${BASE}/order.html?id=${order.id}`);
    await page.locator(tid('order')).waitFor();
    assert.equal(await page.locator(tid('order-state')).getAttribute('data-state'), 'pending_payment');
    await page.locator(tid('cancel-order')).click();
    await page.locator(tid('cancel-confirm')).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="order-state"]')?.dataset.state === 'cancelled');
    const states = await page.locator(tid('history-event')).evaluateAll((els) => els.map((e) => e.dataset.to));
    assert.deepEqual(states, ['pending_payment', 'cancelled']);
    assert.equal(await page.locator(tid('payment-row')).getAttribute('data-state'), 'voided');
    assert.equal(await page.locator(tid('cancel-order')).count(), 0, 'no cancel button on a cancelled order');
    await shot('06-order-cancelled');
  });

  test('an unpaid wallet order is paid later from its page', async () => {
    const token = await page.evaluate(() => localStorage.getItem('souk.token'));
    const { order } = await apiCall(BASE, '/api/v1/checkout', {
      method: 'POST', token,
      body: { lines: [{ sku_id: fx.online.skus[0].id, qty: 1 }], fulfilment: { type: 'deliver', region: 'Shanghai' }, payment_method: 'alipay' },
    });
    await page.goto(`${BASE}/order.html?id=${order.id}`);
    await page.locator(tid('pay-now')).click();
    assert.match(await page.locator(tid('qr-payload')).innerText(), /^souk-sandbox:\/\/alipay\//);
    await page.locator(tid('sandbox-approve')).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="order-state"]')?.dataset.state === 'paid', null, { timeout: 30_000 });
    assert.equal(await page.locator(tid('pay-now')).count(), 0, 'nothing left to pay');
  });

  test('the buyer adds a SKU to the cart from the product page; the header counts it', async () => {
    const product = fx.online.product;
    await page.goto(`${BASE}/product.html?id=${product.id}`);
    await page.locator(tid('product-title')).waitFor();
    const second = fx.online.skus[1];
    await page.locator(`${tid('sku-row')}[data-sku-id="${second.id}"]`).click();
    await page.locator(tid('add-qty')).fill('2');
    await page.locator(tid('add-to-cart')).click();
    await page.locator(tid('added-notice')).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="cart-count"]')?.textContent === '2');
    // Adding the first SKU too: the count follows.
    await page.locator(`${tid('sku-row')}[data-sku-id="${fx.online.skus[0].id}"]`).click();
    await page.locator(tid('add-qty')).fill('1');
    await page.locator(tid('add-to-cart')).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="cart-count"]')?.textContent === '3');
    await shot('01-product-added');
  });

  test('the cart changes quantities; a bad coupon is refused with a clear error and the cart is unchanged', async () => {
    await Promise.all([page.waitForURL(/\/cart\.html/), page.locator(tid('cart-link')).click()]);
    await page.locator(tid('cart-line')).first().waitFor();
    assert.equal(await page.locator(tid('cart-line')).count(), 2);
    const line = page.locator(`${tid('cart-line')}[data-sku-id="${fx.online.skus[0].id}"]`);
    await line.locator(tid('qty-plus')).click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.qty === '2', `${tid('cart-line')}[data-sku-id="${fx.online.skus[0].id}"]`);
    await page.waitForFunction(() => document.querySelector('[data-testid="cart-count"]')?.textContent === '4');
    const total = await page.locator(tid('total-total')).getAttribute('data-minor');

    await page.locator(tid('coupon-input')).fill('NO-SUCH-CODE');
    await page.locator(tid('coupon-apply')).click();
    const err = page.locator(`${tid('coupon-error')} ${tid('error')}`);
    await err.waitFor();
    assert.match(String(await err.getAttribute('data-status')), /^4\d\d$/);
    assert.ok((await err.locator(tid('error-message')).innerText()).trim().length > 0, 'the error says why');
    assert.equal(await page.locator(tid('cart-code')).count(), 0, 'no code kept');
    assert.equal(await page.locator(tid('total-total')).getAttribute('data-minor'), total, 'total unchanged');
    await shot('02-cart-bad-coupon');

    await page.locator(tid('coupon-input')).fill(COUPON);
    await page.locator(tid('coupon-apply')).click();
    await page.locator(`${tid('cart-code')}[data-code="${COUPON}"]`).waitFor();
    await page.locator(`${tid('total-coupon')}[data-code="${COUPON}"]`).waitFor();
    assert.ok(Number(await page.locator(tid('total-total')).getAttribute('data-minor')) < Number(total), 'the coupon lowers the total');
    assert.equal(await page.locator(`${tid('coupon-error')} ${tid('error')}`).count(), 0, 'error cleared');
  });

  test('checkout from the cart paid by the QR sandbox ends on the order page, paid, with its history', async () => {
    const total = Number(await page.locator(tid('total-total')).getAttribute('data-minor'));
    await page.locator(tid('fulfilment-deliver')).check();
    await page.locator(tid('region-select')).selectOption('Zhejiang');
    await page.locator(tid('method-alipay')).check();
    await page.locator(tid('place-order')).click();
    const qr = page.locator(tid('qr-pay'));
    await qr.waitFor();
    assert.match(await page.locator(tid('qr-payload')).innerText(), /^souk-sandbox:\/\/alipay\//);
    assert.equal(minor(await page.locator(tid('qr-amount')).innerText()), total, 'the QR asks for the cart total');
    await shot('03-checkout-qr');
    await Promise.all([page.waitForURL(/\/order\.html\?id=\d+/, { timeout: 30_000 }), page.locator(tid('sandbox-approve')).click()]);
    cartOrderId = Number(new URL(page.url()).searchParams.get('id'));
    await page.locator(tid('order')).waitFor();
    assert.equal(await page.locator(tid('order-state')).getAttribute('data-state'), 'paid');
    const states = await page.locator(tid('history-event')).evaluateAll((els) => els.map((e) => e.dataset.to));
    assert.deepEqual(states.slice(0, 2), ['pending_payment', 'paid'], `history: ${states}`);
    assert.equal(await page.locator(tid('order-line')).count(), 2);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="line-title"]')].every((e) => !e.textContent.startsWith('SKU #')));
    assert.equal(await page.locator(tid('payment-row')).getAttribute('data-state'), 'captured');
    assert.equal(Number(await page.locator(tid('total-total')).getAttribute('data-minor')), total);
    assert.ok(Number(await page.locator(tid('total-discount')).getAttribute('data-minor')) < 0, 'the coupon discount is on the order');
    await page.waitForFunction(() => document.querySelector('[data-testid="cart-count"]')?.hidden === true);
    assert.ok(await page.locator(tid('cancel-order')).isVisible(), 'a paid order may still be cancelled');
    await shot('04-order-paid');
    await page.goto(`${BASE}/orders.html`);
    await page.locator(`${tid('order-card')}[data-order-id="${cartOrderId}"]`).waitFor();
  });

  let receiptNo = '';

  test('POS: the clerk sells in cash; an unknown code and a bad coupon are clear errors; the receipt shows the change; the store\'s stock goes down', async () => {
    const clerk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    clerk.setDefaultTimeout(TIMEOUT);
    await clerk.addInitScript(() => { if (!localStorage.getItem('souk.lang')) localStorage.setItem('souk.lang', 'en'); });
    const p = watch(await clerk.newPage());
    await p.goto(`${BASE}/console/signin.html?next=${encodeURIComponent('/console/pos.html')}`);
    await p.locator(tid('email-input')).fill('clerk1@souk.demo');
    await p.locator(tid('password-input')).fill(PASSWORD);
    await Promise.all([p.waitForURL(/\/console\/pos\.html/), p.locator(tid('signin-submit')).click()]);
    await p.locator(tid('pos-scan-form')).waitFor();
    await p.waitForFunction(() => document.querySelector('[data-testid="pos-store"]')?.options.length > 0);
    assert.deepEqual(await p.locator(`${tid('pos-store')} option`).allInnerTexts(), ['West Lake Store']);
    const before = await stockAt(fx.pos.sku.id, fx.westLake.id);

    // An unknown code.
    await p.locator(tid('pos-code')).fill('NO-SUCH-SKU');
    await p.locator(tid('pos-add')).click();
    const scanErr = p.locator(`${tid('pos-scan-error')} ${tid('error')}`);
    await scanErr.waitFor();
    assert.equal(await scanErr.getAttribute('data-status'), '404');
    assert.equal(await p.locator(tid('pos-line')).count(), 0);
    await shot('08-pos-unknown-code', p);

    // Two of a real SKU: the server prices them.
    await p.locator(tid('pos-code')).fill(fx.pos.sku.code);
    await p.locator(tid('pos-qty')).fill('2');
    await p.locator(tid('pos-add')).click();
    await p.locator(`${tid('pos-line')}[data-code="${fx.pos.sku.code}"]`).waitFor();
    assert.equal(await scanErr.count(), 0, 'the error clears');
    assert.equal(await p.locator(tid('pos-line-home')).getAttribute('href'),
      `/scan.html?code=${encodeURIComponent(fx.pos.sku.code)}&store=${fx.westLake.id}`, 'the line offers scan-to-order from this store');
    await p.locator(tid('total-total')).waitFor();
    const unit = fx.pos.sku.prices.find((x) => x.currency === 'CNY').amount_minor;
    assert.equal(Number(await p.locator(tid('total-subtotal')).getAttribute('data-minor')), 2 * unit);

    // A bad coupon is refused; the quote stays.
    const total0 = await p.locator(tid('total-total')).getAttribute('data-minor');
    await p.locator(tid('pos-coupon')).fill('NO-SUCH-CODE');
    await p.locator(tid('pos-coupon-apply')).click();
    const cErr = p.locator(`${tid('pos-customer-error')} ${tid('error')}`);
    await cErr.waitFor();
    assert.match(String(await cErr.getAttribute('data-status')), /^4\d\d$/);
    assert.equal(await p.locator(tid('pos-code-chip')).count(), 0);
    assert.equal(await p.locator(tid('total-total')).getAttribute('data-minor'), total0);

    // A good coupon and a member.
    await p.locator(tid('pos-coupon')).fill(COUPON);
    await p.locator(tid('pos-coupon-apply')).click();
    await p.locator(`${tid('pos-code-chip')}[data-code="${COUPON}"]`).waitFor();
    await p.locator(tid('pos-member')).fill(MEMBER);
    await p.locator(tid('pos-member-apply')).click();
    await p.locator(tid('pos-member-chip')).waitFor();
    const total = Number(await p.locator(tid('total-total')).getAttribute('data-minor'));
    assert.ok(total < 2 * unit, 'the coupon applies in store');

    // Cash: 500 more than the total, in whole yuan.
    const tendered = Math.ceil(total / 100) * 100 + 50_000;
    await p.locator(tid('pos-method-cash')).check();
    await p.locator(tid('pos-tendered')).fill(String(tendered / 100));
    await p.waitForFunction((n) => document.querySelector('[data-testid="pos-change"]')?.dataset.minor === String(n), tendered - total);
    await shot('09-pos-sale', p);
    // The first answer is lost on the way back (the sale was made): the page
    // shows a network error; charging again sends the same Idempotency-Key
    // and gets the same sale back, not a second one.
    const keys = [];
    p.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/pos/sales')) keys.push(r.headers()['idempotency-key']); });
    await p.route('**/api/v1/pos/sales', async (route) => { await route.fetch(); await route.abort('connectionreset'); }, { times: 1 });
    await p.locator(tid('pos-pay')).click();
    const payErr = p.locator(`${tid('pos-pay-error')} ${tid('error')}`);
    await payErr.waitFor();
    assert.equal(await payErr.getAttribute('data-code'), 'network');
    await p.locator(tid('pos-pay')).click();
    const receipt = p.locator(tid('receipt'));
    await receipt.waitFor();
    receiptNo = (await p.locator(tid('receipt-no')).innerText()).trim();
    assert.ok(receiptNo.length > 0, 'a receipt number');
    assert.equal(Number(await p.locator(tid('receipt-total')).getAttribute('data-minor')), total);
    assert.equal(Number(await p.locator(tid('receipt-tendered')).getAttribute('data-minor')), tendered);
    assert.equal(Number(await p.locator(tid('receipt-change')).getAttribute('data-minor')), tendered - total);
    assert.equal(await p.locator(tid('receipt-payment')).getAttribute('data-method'), 'cash');
    assert.equal(await p.locator(`${tid('receipt-line')}[data-code="${fx.pos.sku.code}"]`).getAttribute('data-qty'), '2');
    assert.match(await p.locator(tid('receipt-store')).innerText(), /West Lake Store/);
    await shot('10-pos-receipt', p);
    // Printed, only the receipt shows.
    await p.emulateMedia({ media: 'print' });
    assert.equal(await p.locator(tid('pos-sale')).isVisible(), false);
    assert.equal(await p.locator(tid('site-header')).isVisible(), false);
    assert.ok(await receipt.isVisible());
    await p.emulateMedia({ media: 'screen' });

    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], 'the retry reuses the Idempotency-Key');
    assert.equal(await stockAt(fx.pos.sku.id, fx.westLake.id), before - 2, 'two units left the store, once');
    // The next sale starts empty; paid by QR, its receipt comes once the wallet confirms.
    await p.locator(tid('new-sale')).click();
    await p.locator(tid('pos-no-lines')).waitFor();
    assert.equal(await p.locator(tid('pos-line')).count(), 0);
    assert.equal(await p.locator(tid('pos-code-chip')).count(), 0);
    await p.locator(tid('pos-code')).fill(fx.pos.sku.code);
    await p.locator(tid('pos-add')).click();
    await p.locator(tid('total-total')).waitFor();
    await p.locator(tid('pos-method-alipay')).check();
    await p.locator(tid('pos-pay')).click();
    await p.locator(tid('qr-pay')).waitFor();
    await shot('11-pos-qr', p);
    await p.locator(tid('sandbox-approve')).click();
    await p.waitForFunction((no) => {
      const r = document.querySelector('[data-testid="receipt-no"]');
      return r && r.offsetParent && r.textContent.trim() !== no;
    }, receiptNo, { timeout: 30_000 });
    assert.equal(await p.locator(tid('receipt-payment')).getAttribute('data-method'), 'alipay');
    assert.equal(await p.locator(tid('receipt-change')).count(), 0, 'no change for a QR payment');
    assert.equal(await stockAt(fx.pos.sku.id, fx.westLake.id), before - 3, 'the QR sale took one more');
    fx.clerkContext = clerk;
    fx.clerkPage = p;
  });

  test('the member sees the till sale among their orders, with its receipt', async () => {
    const offset = logSize(LOG);
    await apiCall(BASE, '/api/v1/auth/otp/request', { method: 'POST', body: { phone: MEMBER } });
    const { token } = await apiCall(BASE, '/api/v1/auth/otp/verify', { method: 'POST', body: { phone: MEMBER, code: await waitForOtp(LOG, MEMBER, offset) } });
    const member = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    member.setDefaultTimeout(TIMEOUT);
    await member.addInitScript((tk) => { localStorage.setItem('souk.lang', 'en'); localStorage.setItem('souk.token', tk); }, token);
    const p = watch(await member.newPage());
    await p.goto(`${BASE}/orders.html`);
    const card = p.locator(tid('order-card')).first();
    await card.waitFor();
    await Promise.all([p.waitForURL(/\/order\.html\?id=\d+/), card.click()]);
    await p.locator(tid('order')).waitFor();
    assert.equal(await p.locator(tid('order-channel')).getAttribute('data-channel'), 'pos');
    assert.equal(await p.locator(tid('order-state')).getAttribute('data-state'), 'completed');
    await p.locator(tid('order-receipt')).waitFor();
    assert.match(await p.locator(tid('order-receipt')).innerText(), new RegExp(fx.pos.sku.code));
    assert.equal(await p.locator(tid('cancel-order')).count(), 0, 'a completed sale cannot be cancelled');
    await shot('13-member-pos-order', p);
    await member.close();
  });

  test('commerce pages fit a phone-sized screen', async () => {
    const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const token = await page.evaluate(() => localStorage.getItem('souk.token'));
    await mobile.addInitScript((tk) => {
      localStorage.setItem('souk.lang', 'en');
      localStorage.setItem('souk.token', tk);
    }, token);
    const p = watch(await mobile.newPage());
    const check = async (url, ready, name) => {
      await p.goto(`${BASE}${url}`);
      await p.locator(tid(ready)).first().waitFor();
      await p.screenshot({ path: path.join(ARTIFACTS, `commerce-mobile-${name}.png`), fullPage: true });
      const o = await overflowX(p);
      assert.ok(o <= 1, `${url}: no sideways scrolling on a phone (overflow ${o}px)`);
    };
    // Something in the cart, for the cart page.
    await apiCall(BASE, `/api/v1/cart/lines/${fx.online.skus[0].id}`, { method: 'PUT', token, body: { qty: 1 } });
    await check(`/product.html?id=${fx.online.product.id}`, 'add-to-cart', 'product');
    await check('/cart.html', 'cart-line', 'cart');
    await check('/orders.html', 'order-card', 'orders');
    await check(`/order.html?id=${orderId}`, 'history-event', 'order');
    await check(`/scan.html?code=${encodeURIComponent(fx.scan.sku.code)}&store=${fx.westLake.id}`, 'scan-place', 'scan');
    await mobile.close();

    // The POS on a phone.
    const cp = fx.clerkPage;
    await cp.setViewportSize({ width: 390, height: 844 });
    await cp.goto(`${BASE}/console/pos.html`);
    await cp.locator(tid('pos-code')).fill(fx.pos.sku.code);
    await cp.locator(tid('pos-add')).click();
    await cp.locator(tid('pos-line')).waitFor();
    await cp.locator(tid('total-total')).waitFor();
    await cp.screenshot({ path: path.join(ARTIFACTS, 'commerce-mobile-pos.png'), fullPage: true });
    const o = await overflowX(cp);
    assert.ok(o <= 1, `POS: no sideways scrolling on a phone (overflow ${o}px)`);
    await fx.clerkContext.close();
  });

  test('the order page and the cart follow the language switch', async () => {
    await page.goto(`${BASE}/order.html?id=${cartOrderId}`);
    await page.locator(tid('order')).waitFor();
    await Promise.all([page.waitForEvent('load'), page.locator(tid('lang-switch')).selectOption('zh-CN')]);
    await page.locator(tid('order')).waitFor();
    assert.equal((await page.locator(tid('order-state')).innerText()).trim(), '已付款');
    assert.equal(await page.locator('[data-i18n="status_history"]').innerText(), '状态记录');
    assert.match(await page.locator(tid('cart-link')).getAttribute('aria-label'), /购物车/);
    await shot('12-order-zh');
    await Promise.all([page.waitForEvent('load'), page.locator(tid('lang-switch')).selectOption('en')]);
    await page.locator(tid('order')).waitFor();
  });

  test('no JavaScript errors; mutating calls carry an Idempotency-Key and a bearer token', () => {
    assert.deepEqual(pageErrors, []);
    const writes = apiRequests.filter((r) => r.method !== 'GET' && !new URL(r.url).pathname.startsWith('/api/v1/auth/'));
    assert.ok(writes.length >= 8, `writes seen: ${writes.length}`);
    for (const w of writes) {
      assert.match(w.headers['idempotency-key'] || '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `${w.method} ${w.url} has an Idempotency-Key`);
      assert.match(w.headers.authorization || '', /^Bearer \S+$/, `${w.method} ${w.url} has a bearer token`);
    }
    const paths = new Set(writes.map((w) => `${w.method} ${new URL(w.url).pathname.replace(/\/\d+/g, '/N')}`));
    for (const want of ['PUT /api/v1/cart/lines/N', 'POST /api/v1/cart/checkout', 'POST /api/v1/orders/N/cancel', 'POST /api/v1/checkout', 'POST /api/v1/pos/sales', 'POST /api/v1/coupons/preview']) {
      assert.ok(paths.has(want), `${want} was called from a page: ${[...paths]}`);
    }
  });
});
