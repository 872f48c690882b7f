// The sign-in page (index.html): a script of its own, as the pages' Content-Security-Policy allows no inline script.
// People sign in with a name (or an agent's number) and a password: the server sets an HttpOnly cookie and
// returns the CSRF token the pages send on every change. An API token still works, for integrations and kiosks.
import { applyTexts, t } from './app.js';
applyTexts();

const home = (role) => { location.href = role === 'agent' ? 'desk.html' : 'wallboard.html'; };
const show = (id, text) => {
  const error = document.getElementById(id);
  error.hidden = false;
  error.textContent = text;
};

document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = document.getElementById('username').value.trim();
  const password = document.getElementById('password').value;
  const res = await fetch('/api/v1/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) {
    const seconds = Number(res.headers.get('retry-after') ?? 0);
    show('error', res.status === 429 ? t('lockedOut').replace('%s', String(Math.ceil(seconds / 60))) : t('badPassword'));
    return;
  }
  const signedIn = await res.json();
  sessionStorage.removeItem('token');
  sessionStorage.setItem('csrf', signedIn.csrfToken);
  home(signedIn.user.role);
});

document.getElementById('token-login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = document.getElementById('token').value.trim();
  const res = await fetch('/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) return show('token-error', t('badToken'));
  const me = await res.json();
  sessionStorage.setItem('token', token);
  home(me.role);
});
