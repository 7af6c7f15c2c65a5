// Shared helpers of the browser tests: the browser, one-time codes read from
// the server's log, and API calls made directly (test set-up and checks).
import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const TIMEOUT = 15_000;
export const tid = (id) => `[data-testid="${id}"]`;

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/**
 * The newest OTP code for `phone` in `text` (a slice of the server log).
 * Tolerant to field order, quoting, JSON logs and a masked phone (+8613****000).
 */
export function findOtp(text, phone) {
  let found = null;
  for (const raw of text.split('\n')) {
    const line = stripAnsi(raw);
    if (!/otp code issued/i.test(line)) continue;
    const code = /(?:^|[\s{,"])code["']?\s*[=:]\s*["']?(\d{6})\b/.exec(line)?.[1];
    if (!code) continue;
    const logged = /(?:^|[\s{,"])phone["']?\s*[=:]\s*["']?([^\s"',}]+)/.exec(line)?.[1];
    if (logged && !phoneMatches(logged, phone)) continue;
    found = code;
  }
  return found;
}

function phoneMatches(logged, phone) {
  if (logged === phone) return true;
  const star = logged.indexOf('*');
  if (star < 0) return false;
  const head = logged.slice(0, star);
  const tail = logged.slice(logged.lastIndexOf('*') + 1);
  return phone.startsWith(head) && phone.endsWith(tail) && phone.length >= head.length + tail.length;
}

export function logSize(log) {
  return fs.statSync(log).size;
}

/** Waits for the OTP code for `phone` logged after byte `offset` of `log`. */
export async function waitForOtp(log, phone, offset, timeoutMs = TIMEOUT) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const code = findOtp(fs.readFileSync(log).subarray(offset).toString('utf8'), phone);
    if (code) return code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no "otp code issued" line for ${phone} in ${log} within ${timeoutMs} ms`);
}

/** A JSON call to the API from the test itself; throws on a non-2xx answer. */
export async function apiCall(base, path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (method !== 'GET') headers['Idempotency-Key'] = crypto.randomUUID();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return data;
}

/** Horizontal overflow of the page in px (0 when it fits the screen). */
export function overflowX(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}
