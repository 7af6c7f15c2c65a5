// Phone sign-in: ask for a one-time code, enter it, keep the token.
import { ApiError, api, clearError, maskPhone, param, renderHeader, setToken, showError, t } from './app.js';
import { translateDom } from './i18n-dom.js';

const RESEND_GAP_S = 30; // the server refuses a new code to the same phone sooner than this

const $ = (id) => document.getElementById(id);
const els = {
  error: $('error'),
  phoneForm: $('phone-form'),
  phone: $('phone'),
  send: $('send-code'),
  codeForm: $('code-form'),
  sent: $('otp-sent'),
  code: $('code'),
  verify: $('verify'),
  resend: $('resend'),
  change: $('change-phone'),
  done: $('done'),
};
let phone = '';
let timer = null;

/** Same rules as the server: E.164, or an 11-digit mainland mobile taken as +86. */
function normalisePhone(raw) {
  const s = raw.replace(/[\s-]/g, '');
  if (/^1\d{10}$/.test(s)) return `+86${s}`;
  return s;
}

/** Only same-site paths: never send the user to another origin after sign-in. */
function nextUrl() {
  const n = param('next');
  return n && n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') && !n.startsWith('/signin.html') ? n : '/';
}

function busy(button, on, labelKey) {
  button.disabled = on;
  button.textContent = t(on ? labelKey : button.dataset.i18n);
}

function startResendCountdown(seconds) {
  clearInterval(timer);
  let left = seconds;
  const tick = () => {
    if (left <= 0) {
      clearInterval(timer);
      els.resend.disabled = false;
      els.resend.textContent = t('resend');
      return;
    }
    els.resend.disabled = true;
    els.resend.textContent = t('resend_in', left);
    left -= 1;
  };
  tick();
  timer = setInterval(tick, 1000);
}

async function requestCode() {
  clearError(els.error);
  phone = normalisePhone(els.phone.value);
  if (!/^\+[1-9]\d{7,14}$/.test(phone)) {
    showError(els.error, new ApiError(400, 'invalid_phone', t('phone_invalid_format')));
    els.phone.focus();
    return;
  }
  busy(els.send, true, 'sending');
  try {
    const { data } = await api('/api/v1/auth/otp/request', { method: 'POST', body: { phone } });
    const mins = Math.max(1, Math.round((Number(data?.expires_in_s) || 300) / 60));
    els.sent.textContent = t('code_sent', maskPhone(phone), mins);
    els.phoneForm.hidden = true;
    els.codeForm.hidden = false;
    els.code.value = '';
    els.code.focus();
    startResendCountdown(RESEND_GAP_S);
  } catch (e) {
    showError(els.error, e);
  } finally {
    busy(els.send, false);
  }
}

async function verifyCode() {
  clearError(els.error);
  const code = els.code.value.replace(/\D/g, '');
  if (code.length !== 6) {
    showError(els.error, new ApiError(400, 'invalid_code', t('code_invalid_format')));
    els.code.focus();
    return;
  }
  busy(els.verify, true, 'verifying');
  try {
    const { data } = await api('/api/v1/auth/otp/verify', { method: 'POST', body: { phone, code } });
    if (!data?.token) throw new ApiError(500, 'no_token', t('server_error'));
    setToken(data.token);
    els.codeForm.hidden = true;
    els.done.textContent = t('signed_in');
    els.done.hidden = false;
    renderHeader();
    setTimeout(() => location.assign(nextUrl()), 400);
  } catch (e) {
    showError(els.error, e);
    els.code.select();
    busy(els.verify, false);
  }
}

els.phoneForm.addEventListener('submit', (e) => { e.preventDefault(); requestCode(); });
els.codeForm.addEventListener('submit', (e) => { e.preventDefault(); verifyCode(); });
els.code.addEventListener('input', () => {
  const digits = els.code.value.replace(/\D/g, '').slice(0, 6);
  if (digits !== els.code.value) els.code.value = digits;
});
els.resend.addEventListener('click', () => requestCode());
els.change.addEventListener('click', () => {
  clearInterval(timer);
  clearError(els.error);
  els.codeForm.hidden = true;
  els.phoneForm.hidden = false;
  els.phone.focus();
});

translateDom();
renderHeader().then((me) => {
  if (!me) return;
  // Already signed in: say so, and offer the way back; the form stays for switching accounts.
  const note = $('already');
  note.replaceChildren(`${t('signed_in_as')} ${maskPhone(me.phone) || me.display_name}. `,
    Object.assign(document.createElement('a'), { href: nextUrl(), textContent: t('back_to_shop') }));
  note.hidden = false;
});
document.addEventListener('souk:signed-out', () => { $('already').hidden = true; renderHeader(); });
