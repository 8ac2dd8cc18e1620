// A front end served from another origin than the API, sharing its cookie
// session over HTTP (CORS with credentials) and the WebSocket. No framework,
// no dependencies; received text reaches the page only through textContent.
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
  const API_WS = API.replace(/^http/, 'ws'); // http → ws, https → wss

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

  // --- the WebSocket ----------------------------------------------------------

  let socket = null;
  let everOpened = false;

  function connect() {
    const ws = new WebSocket(`${API_WS}/ws`); // the browser sends the API's cookie with the handshake
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      everOpened = true;
      show(el.socketState, 'open', 'open');
      log('socket open');
    };
    ws.onmessage = (msg) => {
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch (_) {
        return;
      }
      log(`${frame.event} ${JSON.stringify(frame.data)}`);
      if (frame.event === 'session' && frame.data) {
        showCount(frame.data.count, true);
        el.name.textContent = typeof frame.data.name === 'string' ? frame.data.name : 'anonymous';
      } else if (frame.event === 'current count') {
        showCount(frame.data);
      }
    };
    ws.onclose = (ev) => {
      if (ws !== socket) return;
      log(`socket closed ${ev.code} ${ev.reason}`.trim());
      if (!opened && !everOpened) {
        // A handshake answered with 403 (origin not allowed) reaches the
        // page as a plain close 1006, like an unreachable server.
        show(el.socketState, 'refused', 'refused: the API did not accept this page\'s WebSocket (origin not allowed, or the API is down)');
        el.incrSocket.disabled = true;
      } else if (ev.code === 4000) {
        show(el.socketState, 'closed', 'closed: logged out');
        el.incrSocket.disabled = true;
      } else {
        // 4001 (session expired or renewed), 1001 (server restart), lost
        // connection: come back after a second with the current cookie.
        show(el.socketState, 'reconnecting', 'reconnecting in 1 s');
        setTimeout(connect, 1000);
      }
    };
  }

  el.incrSocket.addEventListener('click', () => {
    if (socket?.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ event: 'incr' }));
      log('sent incr');
    } else {
      log('incr not sent: the socket is not open');
    }
  });

  connect();
})();
