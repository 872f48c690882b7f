// The sign-in page (index.html): a script of its own, as the pages' Content-Security-Policy allows no inline script.
import { applyTexts, t } from './app.js';
applyTexts();
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = document.getElementById('token').value.trim();
  const res = await fetch('/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) {
    const error = document.getElementById('error');
    error.hidden = false;
    error.textContent = t('badToken');
    return;
  }
  const me = await res.json();
  sessionStorage.setItem('token', token);
  location.href = me.role === 'agent' ? 'desk.html' : 'wallboard.html';
});
