// A front end served from another origin than the API, sharing its cookie
// session over HTTP (CORS with credentials) and the WebSocket. No framework;
// the WebSocket client is the app's own static/session-socket.js, loaded from
// the API. Received text reaches the page only through textContent.
(function () {
  'use strict';

  const byId = (id) => document.querySelector(`[data-testid="${id}"]`);
  const el = {
    count: byId('count'),
    name: byId('name'),
    socketState: byId('socket-state'),
    httpState: byId('http-state'),
    incrHttp: byId('incr-http'),
    incrSocket: byId('incr-socket'),
    log: byId('log'),
  };

  // --- configuration -------------------------------------------------------

  /** The API origin: ?api=..., else config.js, else this host on port 3000. */
  function apiOrigin() {
    const fromQuery = new URLSearchParams(window.location.search).get('api');
    const configured = fromQuery || window.SPA_CONFIG?.api ||
      `${window.location.protocol}//${window.location.hostname}:3000`;
    const url = new URL(configured);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${configured}`);
    return url.origin;
  }

  const API = apiOrigin();

  byId('page-origin').textContent = window.location.origin;
  byId('api').textContent = API;

  // --- display -------------------------------------------------------------

  let shownCount = null;

  function log(text) {
    const item = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    const body = document.createElement('span');
    body.textContent = text.length > 300 ? `${text.slice(0, 300)}…` : text;
    item.append(time, body);
    el.log.prepend(item);
    while (el.log.children.length > 50) el.log.lastElementChild.remove();
  }

  function showCount(n, snapshot = false) {
    if (!Number.isSafeInteger(n)) return;
    if (!snapshot && shownCount !== null && n <= shownCount) return; // answers and frames may cross
    shownCount = n;
    el.count.textContent = String(n);
  }

  function show(target, state, text) {
    target.dataset.state = state;
    target.textContent = text;
  }

  // --- HTTP: fetch with credentials -----------------------------------------

  el.incrHttp.addEventListener('click', async () => {
    let res;
    try {
      // credentials: 'include' sends the API's cookie cross-origin (and
      // accepts its Set-Cookie); the API must answer with
      // Access-Control-Allow-Origin: <this origin> and
      // Access-Control-Allow-Credentials: true, or the browser hides the answer.
      res = await fetch(`${API}/incr`, { method: 'POST', credentials: 'include' });
    } catch (err) {
      // A CORS refusal looks like a network error from here: the browser
      // does not let the page see the status.
      show(el.httpState, 'refused', 'refused: the API did not allow this origin (CORS)');
      log(`POST /incr refused: ${err.message}`);
      return;
    }
    const text = await res.text();
    log(`POST /incr → ${res.status} ${text}`.trim());
    if (res.ok) {
      show(el.httpState, 'ok', `POST /incr → ${res.status}`);
      showCount(Number(text.trim()));
    } else {
      show(el.httpState, res.status === 403 ? 'refused' : 'error', `refused: HTTP ${res.status}`);
    }
  });

  // --- the WebSocket: the app's own client ------------------------------------

  // The client is the app's static/session-socket.js, loaded from the API
  // itself, so this page follows the same close-code rules as the app's demo
  // (no reconnect after 4000, 1003 or 1009; backoff after 4001, 1001 and a
  // lost connection) without a copy to keep in step. A plain <script> needs
  // no CORS, so it loads on any origin: the app checks this page's origin at
  // the WebSocket handshake, not here.
  function loadClient() {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = `${API}/static/session-socket.js`;
      script.onload = () => (window.SessionSocket
        ? resolve(window.SessionSocket)
        : reject(new Error(`${script.src} did not define SessionSocket`)));
      script.onerror = () => reject(new Error(`could not load ${script.src}`));
      document.head.append(script);
    });
  }

  let socket = null;
  let everOpened = false;
  let gaveUp = false;

  function connect(SessionSocket) {
    socket = new SessionSocket(`${API}/ws`); // the browser sends the API's cookie with the handshake
    socket.on('open', () => {
      everOpened = true;
      show(el.socketState, 'open', 'open');
      log('socket open');
    });
    socket.on('reconnecting', ({ attempt }) => show(el.socketState, 'connecting', `connecting (attempt ${attempt})`));
    socket.on('frame', ({ event, data }) => log(`${event} ${JSON.stringify(data) ?? ''}`));
    socket.on('session', (data) => {
      showCount(data?.count, true);
      el.name.textContent = typeof data?.name === 'string' ? data.name : 'anonymous';
    });
    socket.on('current count', (n) => showCount(n));
    socket.on('close', onClose);
  }

  function onClose({ code, reason, willReconnect, delayMs }) {
    if (gaveUp) return; // the socket.close() below fires "close" once more
    log(`socket closed ${code} ${reason}`.trim() + (willReconnect ? ` (reconnecting in ${delayMs} ms)` : ''));
    if (!everOpened) {
      // A handshake answered with 403 (origin not allowed) reaches the page
      // as a plain close 1006, like an unreachable server. A first handshake
      // that fails is most likely refused, and retrying would only repeat the
      // refusal: stop and say so. Once open, a lost connection is retried.
      gaveUp = true;
      socket.close();
      show(el.socketState, 'refused', 'refused: the API did not accept this page\'s WebSocket (origin not allowed, or the API is down)');
      el.incrSocket.disabled = true;
    } else if (code === 4000) {
      show(el.socketState, 'closed', 'closed: logged out');
      el.incrSocket.disabled = true;
    } else if (willReconnect) {
      // 4001 (session expired or renewed), 1001 (server restart), a lost
      // connection: the client comes back with the current cookie.
      show(el.socketState, 'reconnecting', `reconnecting in ${(delayMs / 1000).toFixed(1)} s`);
    } else {
      // 1003 or 1009: the server refused what this page sent; sending it
      // again after a reconnect would only repeat that.
      show(el.socketState, 'closed', `closed: ${code} ${reason}`.trim());
      el.incrSocket.disabled = true;
    }
  }

  el.incrSocket.addEventListener('click', () => {
    if (socket?.emit('incr')) log('sent incr');
    else log('incr not sent: the socket is not open');
  });

  loadClient().then(connect, (err) => {
    log(err.message);
    show(el.socketState, 'refused', 'refused: could not load the client from the API (is it running?)');
    el.incrSocket.disabled = true;
  });
})();
