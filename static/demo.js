// The demo page's wiring: one SessionSocket plus fetch, sharing one cookie
// session, and the lobby (chat and who is online) on the same socket.
// Received text only ever reaches the page through textContent: a name or a
// message such as `<img src=x onerror=alert(1)>` shows as those characters.
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
    lobby: byId('lobby'),
    chat: byId('chat-messages'),
    chatForm: byId('chat-form'),
    chatText: byId('chat-text'),
    chatSend: byId('chat-send'),
    chatHint: byId('chat-hint'),
    chatError: byId('chat-error'),
    online: byId('online-list'),
    onlineCount: byId('online-count'),
  };
  const socketAuth = document.body.dataset.socketAuth; // "session" or "login"

  let shownCount = Number(el.count.textContent) || 0;
  let socket = null;
  let loggedOut = false;
  let pending = null; // the login/logout request in flight, if any
  let countdown = null;

  const MAX_CHAT = 200; // lines kept in the message list, oldest dropped first
  const online = new Set(); // the names in the online list
  const shownIds = new Set(); // the ids of the messages in the list
  let me = null; // this session's login name while it is logged in
  let lastSent = null; // the text of the last chat frame sent
  let chatHadFocus = false; // the message box had the focus when it was disabled

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
    showChatControls();
  }

  function showLoginError(message) {
    el.loginError.textContent = message;
    el.loginError.hidden = !message;
  }

  // --- the lobby -----------------------------------------------------------

  // Names are listed in Unicode code point order, as the server sorts them;
  // `<` on strings compares UTF-16 units, which puts U+E000..U+FFFF after
  // the characters beyond U+FFFF.
  function byCodePoint(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0));
    const y = Array.from(b, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
      if (x[i] !== y[i]) return x[i] - y[i];
    }
    return x.length - y.length;
  }

  function timeElement(ms) {
    const time = document.createElement('time');
    const at = new Date(ms);
    if (Number.isFinite(at.getTime())) {
      time.dateTime = at.toISOString();
      time.textContent = at.toLocaleTimeString();
    }
    return time;
  }

  function nameElement(name) {
    const span = document.createElement('span');
    span.className = 'chat-name';
    span.textContent = name;
    return span;
  }

  function showOnline() {
    const names = [...online].sort(byCodePoint);
    el.online.replaceChildren(...names.map((name) => {
      const item = document.createElement('li');
      item.textContent = name;
      if (name === me) item.dataset.me = 'true'; // CSS adds "(you)", outside the text
      return item;
    }));
    el.onlineCount.textContent = `(${names.length})`;
  }

  /** Appends a line, and keeps the list scrolled to the end if it was there. */
  function addChatLine(item) {
    const list = el.chat;
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    list.append(item);
    while (list.children.length > MAX_CHAT) {
      shownIds.delete(list.firstElementChild.dataset.id);
      list.firstElementChild.remove();
    }
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  function showMessage(message) {
    if (!message || typeof message.name !== 'string' || typeof message.text !== 'string') return;
    // The history and the live frames form one run without repeats; this only
    // guards the list against a server that got it wrong.
    const id = String(message.id);
    if (shownIds.has(id)) return;
    shownIds.add(id);
    const item = document.createElement('li');
    item.className = message.name === me ? 'chat-message mine' : 'chat-message';
    item.dataset.id = id;
    const text = document.createElement('span');
    text.className = 'chat-text';
    text.textContent = message.text;
    item.append(timeElement(message.at), nameElement(message.name), text);
    addChatLine(item);
  }

  // Each (re)connection sends "presence state" and "chat history" anew: they
  // are snapshots that replace the lists, or a reconnect would repeat every
  // message and keep names that went offline while the socket was away.
  function showPresenceState(names) {
    if (!Array.isArray(names)) return;
    online.clear();
    for (const name of names) if (typeof name === 'string') online.add(name);
    showOnline();
  }

  function showHistory(messages) {
    if (!Array.isArray(messages)) return;
    el.chat.replaceChildren();
    shownIds.clear();
    for (const message of messages) showMessage(message);
    el.chat.scrollTop = el.chat.scrollHeight;
  }

  /** A line "<name> is back" (online) or "<name> left" in the message list. */
  function presenceLine(name, isOnline) {
    const item = document.createElement('li');
    item.className = 'chat-presence';
    item.dataset.presence = isOnline ? 'online' : 'offline';
    item.append(timeElement(Date.now()), nameElement(name),
      document.createTextNode(isOnline ? ' is back' : ' left'));
    return item;
  }

  // A "presence" frame is a batch, {online: [names], offline: [names]}: the
  // users who came online and those who left since the last frame, each
  // list sorted. Each name gets its own line, arrivals first.
  function showPresence(data) {
    if (!data || !Array.isArray(data.online) || !Array.isArray(data.offline)) return;
    const lines = [];
    for (const [names, isOnline] of [[data.online, true], [data.offline, false]]) {
      for (const name of names) {
        if (typeof name !== 'string') continue;
        // Only a change of the list gets a line: the socket whose opening
        // brought its own user online may get that user's "online" after
        // the snapshot that already lists it.
        if (isOnline === online.has(name)) continue;
        if (isOnline) online.add(name);
        else online.delete(name);
        lines.push(presenceLine(name, isOnline));
      }
    }
    if (!lines.length) return;
    showOnline();
    for (const item of lines) addChatLine(item);
  }

  const CHAT_ERRORS = {
    login_required: 'Not sent: log in to write in the lobby.',
    bad_message: 'Not sent: a message is 1 to 500 characters, without control characters.',
    rate_limited: 'Slow down: a message was dropped.',
  };

  /** Shows `text` under the message box (code: the server's error code), or hides it. */
  function showChatError(text, code = '') {
    el.chatError.textContent = text;
    el.chatError.dataset.code = code;
    el.chatError.hidden = !text;
  }

  function onErrorFrame(data) {
    const code = data?.code;
    // The other codes (bad_json, unknown_event) are this page's own bugs: the log shows them.
    if (!Object.hasOwn(CHAT_ERRORS, code)) return;
    const detail = typeof data.message === 'string' && data.message ? ` (${data.message})` : '';
    showChatError(CHAT_ERRORS[code] + detail, code);
    // Give the refused text back rather than make the user type it again.
    if (code === 'bad_message' && lastSent !== null && !el.chatText.value) el.chatText.value = lastSent;
  }

  /** The message box is usable only on an open socket of a logged-in session. */
  function showChatControls() {
    const session = socket?.session ?? null;
    const writable = !loggedOut && socket?.state === 'open' && session?.authenticated === true;
    if (!writable && document.activeElement === el.chatText) chatHadFocus = true;
    el.chatText.disabled = !writable;
    el.chatSend.disabled = !writable;
    if (writable && chatHadFocus) { // a reconnect took it away in mid-sentence
      chatHadFocus = false;
      el.chatText.focus();
    }
    el.lobby.dataset.state = socket?.state === 'open' && session ? 'live' : 'stale';
    let hint;
    if (loggedOut) hint = 'Logged out: you left the lobby. Reconnect to come back.';
    else if (!socket) hint = 'Log in to join the lobby.';
    else if (socket.state === 'closed') hint = 'Not connected: the lobby is not updated.';
    else if (socket.state !== 'open' || !session) hint = 'Connecting to the lobby…';
    else if (!writable) hint = 'Anyone can read the lobby: log in above to write.';
    else hint = `Writing as ${session.name}.`;
    el.chatHint.textContent = hint;
  }

  function onLobbySession(data) {
    me = data?.authenticated && typeof data.name === 'string' ? data.name : null;
    showChatError('');
    showChatControls();
  }

  el.chatForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = el.chatText.value;
    if (!text.trim()) return; // nothing to say; the server would only answer bad_message
    showChatError('');
    if (socket?.sendChat(text)) {
      lastSent = text;
      el.chatText.value = '';
      log('sent', `chat ${JSON.stringify(text)}`);
    } else {
      showChatError(socket?.state === 'open' ? 'Not sent: the message is too large.' : 'Not sent: the socket is not open.');
    }
  });

  // --- the socket ----------------------------------------------------------

  function startSocket() {
    // Wait for a login/logout in flight before reconnecting, so the
    // handshake carries the cookie that request sets.
    socket = new SessionSocket(undefined, { beforeReconnect: () => pending });
    showSocketState('connecting');
    socket.on('open', () => {
      showSocketState('open');
      log('socket', 'open');
      showChatControls();
    });
    socket.on('reconnecting', ({ attempt }) => showSocketState('connecting', `connecting (attempt ${attempt})`));
    socket.on('frame', ({ event, data }) => log('frame', `${event} ${JSON.stringify(data) ?? ''}`));
    socket.on('bad-frame', ({ error }) => log('frame', `ignored a bad frame: ${error}`));
    socket.on('session', showSession);
    socket.on('current count', showCount);
    socket.on('session', onLobbySession);
    socket.on('presence state', showPresenceState);
    socket.on('chat history', showHistory);
    socket.on('chat', showMessage);
    socket.on('presence', showPresence);
    socket.on('error', onErrorFrame);
    socket.on('close', onClose);
    showChatControls();
  }

  function onClose({ code, reason, willReconnect, delayMs }) {
    log('close', `${code} ${reason}`.trim() + (willReconnect ? ` (reconnecting in ${delayMs} ms)` : ''));
    showChatControls();
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
    showChatControls();
  } else {
    startSocket();
  }
})();
