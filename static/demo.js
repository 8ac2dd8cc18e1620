// The demo page's wiring: one SessionSocket plus fetch, sharing one cookie
// session. Received text only ever reaches the page through textContent.
(function () {
  'use strict';

  const MAX_LOG = 50;
  const byId = (id) => document.querySelector(`[data-testid="${id}"]`);
  const el = {
    count: byId('count'),
    name: byId('name'),
    auth: byId('auth-state'),
    socketState: byId('socket-state'),
    incrHttp: byId('incr-http'),
    incrSocket: byId('incr-socket'),
    loginForm: byId('login-form'),
    loginName: byId('login-name'),
    loginSubmit: byId('login-submit'),
    loginError: byId('login-error'),
    logout: byId('logout'),
    reconnect: byId('reconnect'),
    log: byId('log'),
  };
  const socketAuth = document.body.dataset.socketAuth; // "session" or "login"

  let shownCount = Number(el.count.textContent) || 0;
  let socket = null;
  let loggedOut = false;
  let pending = null; // the login/logout request in flight, if any
  let countdown = null;

  // --- display -------------------------------------------------------------

  function log(kind, text) {
    const item = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    const tag = document.createElement('span');
    tag.className = `tag tag-${kind}`;
    tag.textContent = kind;
    const body = document.createElement('span');
    body.textContent = text.length > 300 ? `${text.slice(0, 300)}…` : text;
    item.append(time, tag, body);
    el.log.prepend(item);
    while (el.log.children.length > MAX_LOG) el.log.lastElementChild.remove();
  }

  // HTTP answers and socket frames may cross, so a count never goes down...
  function showCount(n) {
    if (!Number.isSafeInteger(n) || n <= shownCount) return;
    shownCount = n;
    el.count.textContent = String(n);
  }

  // ...except for a "session" frame: a snapshot, possibly of a new session.
  function showSession(data) {
    if (!data || typeof data !== 'object') return;
    if (Number.isSafeInteger(data.count)) {
      shownCount = data.count;
      el.count.textContent = String(data.count);
    }
    el.name.textContent = typeof data.name === 'string' ? data.name : 'anonymous';
    el.auth.textContent = data.authenticated ? 'logged in' : 'not logged in';
  }

  function showSocketState(state, text = state) {
    clearInterval(countdown);
    el.socketState.dataset.state = state;
    el.socketState.textContent = text;
  }

  function showCountdown(delayMs) {
    const until = Date.now() + delayMs;
    const tick = () => {
      const secs = Math.max(0, until - Date.now()) / 1000;
      el.socketState.textContent = `reconnecting in ${secs.toFixed(1)} s`;
    };
    showSocketState('reconnecting');
    tick();
    countdown = setInterval(tick, 100);
  }

  function showLoggedOut() {
    loggedOut = true;
    el.name.textContent = 'anonymous';
    el.auth.textContent = 'logged out';
    for (const control of [el.incrHttp, el.incrSocket, el.loginName, el.loginSubmit, el.logout]) {
      control.disabled = true;
    }
    el.reconnect.hidden = false;
    // An open socket is closed by the server with 4000; any other one stops here.
    if (socket && socket.state !== 'open') socket.close();
    if (!socket || socket.state === 'closed') showSocketState('closed', 'closed: logged out');
  }

  function showLoginError(message) {
    el.loginError.textContent = message;
    el.loginError.hidden = !message;
  }

  // --- the socket ----------------------------------------------------------

  function startSocket() {
    // Wait for a login/logout in flight before reconnecting, so the
    // handshake carries the cookie that request sets.
    socket = new SessionSocket(undefined, { beforeReconnect: () => pending });
    showSocketState('connecting');
    socket.on('open', () => {
      showSocketState('open');
      log('socket', 'open');
    });
    socket.on('reconnecting', ({ attempt }) => showSocketState('connecting', `connecting (attempt ${attempt})`));
    socket.on('frame', ({ event, data }) => log('frame', `${event} ${JSON.stringify(data) ?? ''}`));
    socket.on('bad-frame', ({ error }) => log('frame', `ignored a bad frame: ${error}`));
    socket.on('session', showSession);
    socket.on('current count', showCount);
    socket.on('close', onClose);
  }

  function onClose({ code, reason, willReconnect, delayMs }) {
    log('close', `${code} ${reason}`.trim() + (willReconnect ? ` (reconnecting in ${delayMs} ms)` : ''));
    if (code === 4000 && !loggedOut) showLoggedOut();
    if (loggedOut) {
      if (willReconnect) socket.close(); // fires "close" again, not reconnecting
      else showSocketState('closed', 'closed: logged out');
      return;
    }
    if (willReconnect) {
      showCountdown(delayMs);
    } else {
      showSocketState('closed', `closed: ${code} ${reason}`.trim());
      el.reconnect.hidden = false;
    }
  }

  // --- HTTP ----------------------------------------------------------------

  /** POSTs (JSON if a body is given); logs and resolves {status, text}, or null on network failure. */
  async function post(path, body) {
    const init = { method: 'POST', credentials: 'same-origin' };
    if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    try {
      const res = await fetch(path, init);
      const text = await res.text();
      log('http', `POST ${path} → ${res.status} ${text}`.trim());
      return { status: res.status, text };
    } catch (err) {
      log('http', `POST ${path} failed: ${err.message}`);
      return null;
    }
  }

  function errorOf(answer) {
    if (!answer) return 'network error, try again';
    try {
      const { error } = JSON.parse(answer.text);
      if (typeof error === 'string' && error) return error;
    } catch (_) { /* not JSON */ }
    return `request failed (HTTP ${answer.status})`;
  }

  el.incrHttp.addEventListener('click', async () => {
    const answer = await post('/incr');
    if (answer?.status === 200) showCount(Number(answer.text.trim()));
  });

  el.incrSocket.addEventListener('click', () => {
    if (socket?.emit('incr')) log('sent', 'incr');
    else log('sent', 'incr not sent: the socket is not open');
  });

  el.loginForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    pending = post('/login', { name: el.loginName.value }).then((answer) => {
      if (answer?.status !== 204) return showLoginError(errorOf(answer));
      showLoginError('');
      el.loginName.value = '';
      if (!socket) { // SOCKET_AUTH=login: the socket could not open before
        el.auth.textContent = 'logged in, connecting';
        startSocket();
      } else if (socket.state === 'closed') {
        el.auth.textContent = 'logged in';
      } else { // the server closes the old socket with 4001; the new one sends "session"
        el.auth.textContent = 'logged in, reconnecting';
      }
    }).finally(() => { pending = null; });
  });

  el.logout.addEventListener('click', () => {
    pending = post('/logout').then((answer) => {
      if (answer?.status === 204) showLoggedOut();
    }).finally(() => { pending = null; });
  });

  el.reconnect.addEventListener('click', () => window.location.reload());

  // --- start ---------------------------------------------------------------

  if (socketAuth === 'login' && document.body.dataset.authenticated !== 'true') {
    showSocketState('closed', 'closed: log in to open the socket');
  } else {
    startSocket();
  }
})();
