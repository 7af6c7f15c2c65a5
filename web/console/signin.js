// Console sign-in: email + password → a console session (souk.console.token).
import { ApiError, api, clearError, param, setToken, showError, t } from '/assets/app.js';
import { renderConsoleHeader, safeNext, signOutNow } from '/console/console.js';

const $ = (id) => document.getElementById(id);
const form = $('signin-form');
const errorSlot = $('error');
const submit = $('submit');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearError(errorSlot);
  const email = $('email').value.trim();
  const password = $('password').value;
  if (!email || !password) {
    showError(errorSlot, new ApiError(422, 'invalid_input', t('email_password_required')));
    (email ? $('password') : $('email')).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t('signing_in');
  try {
    const { data } = await api('/api/v1/auth/password', { method: 'POST', body: { email, password } });
    if (!data?.token) throw new ApiError(500, 'no_token', t('server_error'));
    setToken(data.token);
    form.hidden = true;
    $('already').hidden = true;
    $('done').textContent = t('console_signed_in');
    $('done').hidden = false;
    location.assign(safeNext(param('next')));
  } catch (err) {
    showError(errorSlot, err);
    $('password').select();
    submit.disabled = false;
    submit.textContent = t('verify');
  }
});

renderConsoleHeader({ requireSignIn: false }).then((me) => {
  if (!me) { $('email').focus(); return; }
  const note = $('already');
  const out = Object.assign(document.createElement('button'), { type: 'button', className: 'link-btn', textContent: t('sign_out') });
  out.addEventListener('click', () => signOutNow(out));
  note.replaceChildren(`${t('signed_in_as')} ${me.display_name || me.email}. `,
    Object.assign(document.createElement('a'), { href: safeNext(param('next')), textContent: t('console') }), ' · ', out);
  note.hidden = false;
}).catch(() => {});
