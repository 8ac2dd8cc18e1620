/**
 * SessionSocket: a small WebSocket client for the session-bridge protocol.
 *
 * Frames are JSON `{"event": "<name>", "data": <any>}` in both directions.
 * The browser sends the session cookie with the handshake by itself (same
 * site; cross-origin only if the server lists the page's origin).
 *
 * It reconnects with capped exponential backoff and full jitter, except after
 * the close codes that mean "stop" (4000 logout, 1003, 1009) or after close().
 * A refused handshake (403, 401, 429, server down) reaches a browser only as a
 * close 1006, like a lost network, so it is retried the same way.
 *
 * The lobby's frames ("presence state", "chat history", "chat", "presence")
 * reach on() listeners like every other server event; sendChat(text) posts.
 * A "presence" frame is a batch: {online: [names], offline: [names]}.
 *
 * No dependencies: load it with a plain <script src>, then use
 * `window.SessionSocket`.
 *
 * @example
 * const socket = new SessionSocket();            // ws(s)://<this host>/ws
 * socket.on('current count', (n) => console.log('count', n));
 * socket.on('close', (e) => console.log(e.code, e.reason, e.willReconnect));
 * socket.emit('incr');
 * socket.on('chat', (m) => console.log(m.name, m.text));
 * socket.sendChat('hello');
 */
(function (global) {
  'use strict';

  /** The server's limit: a bigger message closes the socket with 1009, for good. */
  const MAX_FRAME_BYTES = 65536;

  // The events this client fires itself. A server frame with one of these
  // names reaches only "frame" listeners: a "close" listener must never get a
  // server payload in place of its CloseInfo.
  const LIFECYCLE = new Set(['open', 'close', 'reconnecting', 'frame', 'bad-frame']);

  /**
   * @typedef {Object} SessionSocketOptions
   * @property {number} [baseDelayMs=250]     first backoff step
   * @property {number} [maxDelayMs=10000]    backoff cap
   * @property {number} [stableAfterMs=5000]  a connection open this long resets the backoff
   * @property {number[]} [noReconnectCodes=[4000, 1003, 1009]] close codes that stop the client
   * @property {number} [renewedDelayMs=1000] least wait after 4001 "session renewed"
   * @property {function(CloseInfo): (Promise|void)} [beforeReconnect] called when a
   *   reconnect is due; if it returns a promise, the reconnect waits for it to settle
   *   (e.g. a pending login request, so the handshake carries the renewed cookie)
   * @property {number} [maxFrameBytes=65536] emit() refuses a bigger frame instead of
   *   sending it (the server would close the socket with 1009 and it would stay closed)
   */

  /**
   * @typedef {Object} CloseInfo
   * @property {number} code            close code (1006: connection lost or refused)
   * @property {string} reason          close reason sent by the server, or ""
   * @property {boolean} willReconnect  whether a reconnect is scheduled
   * @property {number|null} delayMs    milliseconds until the reconnect, or null
   */

  /**
   * @typedef {Object} SessionInfo  the `session` frame's data
   * @property {number} count
   * @property {string|null} name      the login name, or null
   * @property {boolean} authenticated whether the session may write in the lobby
   */

  /**
   * @typedef {Object} ChatMessage  one lobby message (`chat` frame, `chat history` item)
   * @property {string} id    unique
   * @property {string} name  the sender's login name, set by the server
   * @property {string} text  1 to 500 characters, trimmed
   * @property {number} at    milliseconds since the Unix epoch, set by the server
   */

  /**
   * @typedef {Object} PresenceChange  a `presence` frame's data: what changed
   *   since the socket last showed presence (its `presence state` or its last
   *   `presence` frame), gathered by the server for PRESENCE_BATCH_MS. Both
   *   lists are always there, sorted by code point, each name once, no name in
   *   both, at least one not empty; for each user, online and offline alternate
   *   from frame to frame.
   * @property {string[]} online   users who came online ("alice is back")
   * @property {string[]} offline  users with no socket anywhere for the grace ("bob left")
   */

  class SessionSocket {
    /**
     * Connects at once and stays connected until close() or a stop code.
     *
     * @param {string} [url] a ws://, wss:// or http(s):// URL, or a path; defaults
     *   to ws(s)://<location.host>/ws. An absolute URL allows cross-origin use.
     * @param {SessionSocketOptions} [options]
     */
    constructor(url, options = {}) {
      this.url = toSocketUrl(url || '/ws');
      this.baseDelayMs = options.baseDelayMs ?? 250;
      this.maxDelayMs = options.maxDelayMs ?? 10000;
      this.stableAfterMs = options.stableAfterMs ?? 5000;
      this.noReconnectCodes = options.noReconnectCodes ?? [4000, 1003, 1009];
      this.renewedDelayMs = options.renewedDelayMs ?? 1000;
      this.beforeReconnect = options.beforeReconnect ?? null;
      this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
      /** @type {'connecting'|'open'|'reconnecting'|'closed'} */
      this.state = 'connecting';
      /**
       * The current connection's `session` frame, or null until it arrives
       * (and from a close until the next connection's). Says whether this
       * session may write in the lobby (`authenticated`).
       * @type {SessionInfo|null}
       */
      this.session = null;
      this._listeners = new Map();
      this._ws = null;
      this._attempt = 0;
      this._openedAt = 0;
      this._timer = null;
      this._stopped = false;
      this._connect();
    }

    /**
     * Subscribes to an event.
     *
     * Server events, called with the frame's `data`: "session"
     * ({@link SessionInfo}), "current count" (a number), "error" ({code, message});
     * the lobby's, sent on every (re)connection right after "session", in this
     * order: "presence state" (the names online, sorted) and "chat history"
     * ({@link ChatMessage}[], oldest first), each a whole snapshot that replaces
     * what an earlier connection showed; then live "chat" ({@link ChatMessage})
     * and "presence" ({@link PresenceChange}, several users in one frame); and
     * any other event name the server sends.
     * Lifecycle events: "open"; "close" ({@link CloseInfo}); "reconnecting"
     * ({attempt}), when a new connection attempt starts; "frame" ({event, data}),
     * for every valid frame; "bad-frame" ({raw, error}), for a frame that is not
     * a JSON object with a string "event" (it is otherwise ignored). A server
     * frame named like a lifecycle event reaches only "frame" listeners.
     *
     * @param {string} event
     * @param {function(*): void} fn
     * @returns {function(): void} unsubscribes
     */
    on(event, fn) {
      if (!this._listeners.has(event)) this._listeners.set(event, new Set());
      this._listeners.get(event).add(fn);
      return () => this.off(event, fn);
    }

    /**
     * Removes a listener added with on().
     * @param {string} event
     * @param {function(*): void} fn
     */
    off(event, fn) {
      this._listeners.get(event)?.delete(fn);
    }

    /**
     * Sends `{"event": event, "data": data}` (without "data" when undefined).
     * @param {string} event
     * @param {*} [data]
     * @returns {boolean} false when nothing was sent: the socket is not open
     *   (nothing is queued), or the frame is over maxFrameBytes
     */
    emit(event, data) {
      if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return false;
      const frame = JSON.stringify(data === undefined ? { event } : { event, data });
      if (longerThan(frame, this.maxFrameBytes)) return false;
      this._ws.send(frame);
      return true;
    }

    /**
     * Posts `text` to the lobby: `{"event":"chat","data":{"text": text}}`.
     * The server trims it, and answers an "error" frame instead of posting
     * when the session is not logged in (`login_required`) or the trimmed text
     * is not 1 to 500 characters without control characters (`bad_message`).
     * The message itself comes back as a "chat" event, to every socket in the
     * lobby, this one included.
     * @param {string} text
     * @returns {boolean} false when nothing was sent (see emit())
     */
    sendChat(text) {
      return this.emit('chat', { text });
    }

    /**
     * Closes the socket for good: no reconnect afterwards. Fires "close"
     * (willReconnect false) unless already closed.
     * @param {number} [code=1000]
     * @param {string} [reason=""]
     */
    close(code = 1000, reason = '') {
      this._stopped = true;
      clearTimeout(this._timer);
      const ws = this._ws;
      this._ws = null;
      if (ws && ws.readyState < WebSocket.CLOSING) ws.close(code, reason);
      this.session = null;
      if (this.state !== 'closed') {
        this.state = 'closed';
        this._fire('close', { code, reason, willReconnect: false, delayMs: null });
      }
    }

    _connect() {
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) { // e.g. a malformed URL: retrying cannot help
        this._stopped = true;
        this.session = null;
        this.state = 'closed';
        this._fire('close', { code: 1006, reason: String(err?.message), willReconnect: false, delayMs: null });
        return;
      }
      this._ws = ws;
      // Each handler ignores a socket that is no longer the current one.
      ws.onopen = () => {
        if (ws !== this._ws) return;
        this.state = 'open';
        this._openedAt = Date.now();
        this._fire('open', {});
      };
      ws.onmessage = (msg) => {
        if (ws === this._ws) this._receive(msg.data);
      };
      ws.onclose = (ev) => {
        if (ws === this._ws) this._closed(ev.code, ev.reason);
      };
      // "error" events carry no detail; the "close" that follows says it all.
    }

    _receive(raw) {
      let frame;
      try {
        if (typeof raw !== 'string') throw new Error('binary frame');
        frame = JSON.parse(raw);
        if (frame === null || typeof frame !== 'object' || typeof frame.event !== 'string') {
          throw new Error('not a JSON object with a string "event"');
        }
      } catch (err) {
        const text = typeof raw === 'string' ? raw.slice(0, 200) : '';
        this._fire('bad-frame', { raw: text, error: String(err?.message) });
        return;
      }
      if (frame.event === 'session') {
        this.session = frame.data !== null && typeof frame.data === 'object' ? frame.data : null;
      }
      this._fire('frame', { event: frame.event, data: frame.data });
      if (!LIFECYCLE.has(frame.event)) this._fire(frame.event, frame.data);
    }

    _closed(code, reason = '') {
      this._ws = null;
      this.session = null;
      if (this._openedAt && Date.now() - this._openedAt >= this.stableAfterMs) this._attempt = 0;
      this._openedAt = 0;
      const retry = !this._stopped && !this.noReconnectCodes.includes(code);
      let delayMs = retry ? this._nextDelay() : null;
      // A login in another tab renewed the key: its response, which carries
      // the new cookie, may still be on its way. Reconnecting at once would
      // send the dead cookie and start a new, anonymous session.
      if (retry && code === 4001 && reason === 'session renewed') {
        delayMs = Math.max(delayMs, this.renewedDelayMs);
      }
      const info = { code, reason, willReconnect: retry, delayMs };
      this.state = retry ? 'reconnecting' : 'closed';
      this._fire('close', info);
      if (!retry || this._stopped) return; // a listener may have called close()
      this._timer = setTimeout(() => this._reconnect(info), delayMs);
    }

    async _reconnect(info) {
      if (this._stopped) return;
      try {
        await this.beforeReconnect?.(info);
      } catch (err) { // a failed hook only means "don't wait any longer"
      }
      if (this._stopped) return;
      this.state = 'connecting';
      this._fire('reconnecting', { attempt: this._attempt });
      this._connect();
    }

    /** Full jitter: a random delay in [0, min(cap, base * 2^attempt)). */
    _nextDelay() {
      const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this._attempt);
      this._attempt += 1;
      return Math.floor(Math.random() * ceiling);
    }

    _fire(event, payload) {
      for (const fn of [...(this._listeners.get(event) ?? [])]) {
        try {
          fn.call(this, payload);
        } catch (err) { // a failing listener must not break the socket
          console.error(`SessionSocket: a "${event}" listener failed:`, err);
        }
      }
    }
  }

  /** Whether `s` is over `limit` bytes in UTF-8, what the server's frame limit counts. */
  function longerThan(s, limit) {
    // Each UTF-16 unit is 1 to 3 bytes: skip the encoding when that decides it.
    if (s.length > limit) return true;
    if (s.length * 3 <= limit) return false;
    return new TextEncoder().encode(s).length > limit;
  }

  /** Resolves a path or an http(s) URL against the page into a ws(s) URL. */
  function toSocketUrl(url) {
    const u = new URL(url, global.location.href);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    return u.href;
  }

  global.SessionSocket = SessionSocket;
})(window);
