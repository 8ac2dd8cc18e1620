// The lobby (chat, who is online, the counter) over Socket.IO: the events of
// GET /ws, each with one argument, on the socket `io()` opens to this origin.
// Every text from the server goes in with textContent, never as HTML.

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const socket = io();
window.socket = socket; // for the browser tests and the console
let online = [];

function setState(state) {
  $('socket-state').dataset.state = state;
  $('socket-state').textContent = state;
  $('connect').hidden = state !== 'logged out';
}

function showError(testid, error) {
  $(testid).textContent = error ? `${error.code}: ${error.message}` : '';
  $(testid).hidden = !error;
}

function line(list, text, className) {
  const item = document.createElement('li');
  item.textContent = text;
  if (className) item.className = className;
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function showMessage(message) {
  const at = new Date(message.at).toLocaleTimeString();
  line($('chat-messages'), `[${at}] ${message.name}: ${message.text}`);
}

function showOnline() {
  $('online-list').replaceChildren();
  for (const name of online) line($('online-list'), name);
}

socket.on('connect', () => setState('connected'));
socket.on('disconnect', (reason) => {
  // The server's DISCONNECT is a logout: Socket.IO does not reconnect.
  setState(reason === 'io server disconnect' ? 'logged out' : 'reconnecting');
});
socket.on('connect_error', (err) => showError('session-error', { code: 'connect_error', message: err.message }));
socket.on('session', (session) => {
  $('count').textContent = session.count;
  $('name').textContent = session.name ?? 'anonymous';
  showError('session-error', null);
});
socket.on('current count', (count) => { $('count').textContent = count; });
socket.on('presence state', (names) => { online = names; showOnline(); });
socket.on('chat history', (messages) => {
  $('chat-messages').replaceChildren();
  messages.forEach(showMessage);
});
socket.on('chat', showMessage);
socket.on('presence', ({ online: came, offline: left }) => {
  online = [...online.filter((name) => !left.includes(name)), ...came.filter((name) => !online.includes(name))].sort();
  showOnline();
  for (const name of came) line($('chat-messages'), `${name} is online`, 'meta');
  for (const name of left) line($('chat-messages'), `${name} left`, 'meta');
});
socket.on('error', (error) => showError('chat-error', error));

$('incr-http').addEventListener('click', async () => {
  const res = await fetch('/incr', { method: 'POST' });
  if (res.ok) $('count').textContent = await res.text();
});
// With an acknowledgement the new count comes back to this call too.
$('incr-socket').addEventListener('click', () => socket.emit('incr', (count) => { $('count').textContent = count; }));

// A login renews the session's key: the server closes this socket's
// transport and Socket.IO reconnects by itself with the new cookie.
$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const res = await fetch('/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: $('login-name').value }),
  });
  showError('session-error', res.ok ? null : { code: res.status, message: (await res.json()).error });
});
$('logout').addEventListener('click', () => fetch('/logout', { method: 'POST' }));
$('connect').addEventListener('click', () => socket.connect());

$('chat-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('chat-text').value;
  socket.emit('chat', { text }, (answer) => {
    showError('chat-error', answer.error ?? null);
    if (!answer.error) $('chat-text').value = '';
  });
});
