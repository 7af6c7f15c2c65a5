// Console home: who is signed in, with which grants, and where to go.
import { api, h, showError, t } from '/assets/app.js';
import { grantLabel, renderConsoleHeader, signOutNow } from '/console/console.js';

const who = document.getElementById('whoami');
const errorSlot = document.getElementById('error');

async function main() {
  const me = await renderConsoleHeader({ active: 'home' });
  if (!me) return;
  let locations = [];
  try {
    ({ data: { items: locations } } = await api('/api/v1/locations'));
  } catch (e) {
    if (e.status !== 403) showError(errorSlot, e);
  }
  const grants = me.grants || [];
  const signOut = h('button', { type: 'button', class: 'btn btn-outline', testid: 'signout-main' }, t('sign_out'));
  signOut.addEventListener('click', () => signOutNow(signOut));
  who.replaceChildren(
    h('div', { class: 'whoami-head' },
      h('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, (me.display_name || me.email || '?').charAt(0).toUpperCase()),
      h('div', { class: 'whoami-text' },
        h('h1', { testid: 'welcome' }, t('welcome', me.display_name || me.email)),
        h('div', { class: 'muted', testid: 'me-email' }, [me.email, `#${me.id}`].filter(Boolean).join(' · '))),
      signOut),
    h('div', { class: 'whoami-grid' },
      h('div', {},
        h('h2', {}, t('your_roles')),
        grants.length
          ? h('ul', { class: 'badges', testid: 'grants' }, grants.map((g) => {
            const { role, scope } = grantLabel(g, locations);
            return h('li', { class: `badge badge-role role-${g.role}`, testid: 'grant', 'data-role': g.role }, role, scope ? h('span', { class: 'badge-scope' }, scope) : null);
          }))
          : h('p', { class: 'muted' }, t('no_roles'))),
      h('div', {},
        h('h2', {}, t('your_locations')),
        locations.length
          ? h('ul', { class: 'loc-list', testid: 'my-locations' }, locations.map((l) => h('li', {},
            h('span', { class: `kind kind-${l.kind}` }, t(`kind_${l.kind}`)),
            h('span', { class: 'loc-name' }, l.name),
            h('span', { class: 'muted' }, l.address?.city || ''))))
          : h('p', { class: 'muted' }, t('no_locations')))));
  who.removeAttribute('aria-busy');
}

main().catch((e) => { who.replaceChildren(); showError(errorSlot, e, { onRetry: () => location.reload() }); });
