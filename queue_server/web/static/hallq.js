// The browser's HallQ client: the JavaScript twin of queue_server/client.py.
//
// One WebSocket to the server that served the page. It says hello, subscribes (resuming
// from the last sequence seen after a reconnect, or taking the fresh snapshot the server
// sends when it cannot resume), reconnects with backoff, and reports its state so every
// page can show it. Requests waiting for a reply when the connection drops are sent again
// with the same idempotency key once it is back, so the server answers them once.

export const State = Object.freeze({
  CONNECTING: "connecting",
  ONLINE: "online",
  OFFLINE: "offline", // tried and failed; still retrying
  REFUSED: "refused", // the server refused our sign-in; retrying will not help
  CLOSED: "closed", // close() was called
});

// Operations that take an idempotency key (protocol.OPS with idempotent=True). The
// server ignores a key on other operations, so a stale list is harmless, not wrong.
const IDEMPOTENT = new Set([
  "ticket.issue", "ticket.rejoin", "ticket.cancel", "ticket.transfer",
  "appointment.create", "appointment.checkin", "window.open", "window.pause",
  "window.resume", "window.close", "call.next", "call.number", "call.recall",
  "case.start", "case.finish", "case.no_show", "rating.submit",
  "casefile.accept", "casefile.review", "casefile.decide", "casefile.suspend",
  "casefile.resume", "casefile.extend", "casefile.refuse", "casefile.ready",
  "casefile.deliver", "ledger.verify", "ledger.decide", "ledger.contact", "ledger.fix",
  "ledger.callback", "ledger.close",
]);

const CLOSE_AUTH_FAILED = 4001;
const CLOSE_AUTH_TIMEOUT = 4002;
const CLOSE_TAKEN_OVER = 4003; // another console signed in to this window and took it over

export class RequestError extends Error {
  constructor(code, message, details) {
    super(`${code}: ${message}`);
    this.code = code;
    this.serverMessage = message;
    this.details = details || {};
  }
}

/** A fresh idempotency key: random, so two consoles never collide. */
export function newKey(prefix = "web") {
  const rnd = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);
  return `${prefix}:${rnd}`.slice(0, 128);
}

export class HallConnection {
  /**
   * @param {object} opts
   * @param {object} opts.hello  arguments of the hello (token, or clerk+pin+window, or ticket)
   * @param {boolean} [opts.subscribe=true]  receive events (snapshot first)
   * @param {string} [opts.name]  shown in the server's log and used in idempotency keys
   * @param {Function} [opts.onEvent]  (kind, data, message) for each event, in order
   * @param {Function} [opts.onSnapshot]  (snapshot) after (re)subscribing without resume
   * @param {Function} [opts.onState]  (state, detail) on each connection state change
   * @param {Function} [opts.onSession]  (session) after each successful hello
   */
  constructor(opts) {
    this.hello = opts.hello;
    this.subscribe = opts.subscribe !== false;
    this.name = opts.name || "web";
    this.onEvent = opts.onEvent || (() => {});
    this.onSnapshot = opts.onSnapshot || (() => {});
    this.onState = opts.onState || (() => {});
    this.onSession = opts.onSession || (() => {});
    this.requestTimeout = opts.requestTimeout || 15000;
    this.url = opts.url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.state = State.CONNECTING;
    this.session = null;
    this.lastSeq = null;
    this.refusal = null; // the error of a refused hello
    this.clockOffset = 0; // server time minus browser time, in ms
    this._ws = null;
    this._ids = 1;
    this._pending = new Map(); // id -> {message, resolve, reject, timer}
    this._closing = false;
    this._delay = 250;
    this._retryTimer = null;
  }

  start() {
    this._connect();
    return this;
  }

  /** Server time now, as a Date: durations on screen follow the server's clock. */
  serverNow() {
    return new Date(Date.now() + this.clockOffset);
  }

  noteServerTime(iso) {
    const t = Date.parse(iso || "");
    if (!Number.isNaN(t)) this.clockOffset = t - Date.now();
  }

  get online() {
    return this.state === State.ONLINE;
  }

  /** Pending requests (sent, no reply yet); a page shows them while offline. */
  get pendingCount() {
    return this._pending.size;
  }

  /**
   * Send one request; resolves with its result or rejects with a RequestError.
   *
   * opts.key: the idempotency key (a fresh one for idempotent operations otherwise).
   * opts.whenOffline: "queue" (default) keeps the request until the connection is back;
   * "refuse" rejects at once with code "offline", for actions a person should redo
   * knowingly rather than have fire minutes later.
   */
  request(op, args = {}, opts = {}) {
    let key = opts.key;
    if (!key && IDEMPOTENT.has(op)) key = newKey(this.name);
    if (!this.online && opts.whenOffline === "refuse") {
      return Promise.reject(new RequestError("offline", "not connected"));
    }
    const id = String(this._ids++);
    const msg = { v: 1, id, op, args };
    if (key) msg.key = key;
    const message = JSON.stringify(msg);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        const err = new RequestError("timeout", "no reply in time");
        err.key = key;
        reject(err);
      }, opts.timeout || this.requestTimeout);
      this._pending.set(id, { message, resolve, reject, timer, key });
      if (this.online) this._ws.send(message);
      // Otherwise it goes out when the connection is (re)established.
    });
  }

  close() {
    this._closing = true;
    clearTimeout(this._retryTimer);
    if (this._ws) this._ws.close(1000, "bye");
    for (const p of this._pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RequestError("closed", "signed out"));
    }
    this._pending.clear();
    this._setState(State.CLOSED);
  }

  // -- connection loop ---------------------------------------------------------------

  _connect() {
    if (this._closing) return;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this._retry();
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      this._awaitingHello = true;
      const args = { ...this.hello, client: this.name, protocol: 1 };
      ws.send(JSON.stringify({ v: 1, id: "hello", op: "hello", args }));
    };
    ws.onmessage = (ev) => this._receive(ev.data);
    ws.onclose = (ev) => {
      if (this._ws === ws) this._ws = null;
      if (this._closing || this.state === State.REFUSED) return;
      if (ev.code === CLOSE_TAKEN_OVER) {
        this.refusal = { code: "taken_over", message: ev.reason };
        this._setState(State.REFUSED, this.refusal);
        return;
      }
      if (ev.code === CLOSE_AUTH_FAILED || ev.code === CLOSE_AUTH_TIMEOUT) {
        this.refusal = this.refusal || { code: "unauthorized", message: ev.reason };
        this._setState(State.REFUSED, this.refusal);
        return;
      }
      this._setState(State.OFFLINE);
      this._retry();
    };
    ws.onerror = () => {}; // onclose follows and does the work
  }

  _retry() {
    clearTimeout(this._retryTimer);
    // Jittered exponential backoff: a hall full of consoles must not reconnect in step.
    const wait = this._delay * (0.5 + Math.random());
    this._delay = Math.min(this._delay * 2, 5000);
    this._retryTimer = setTimeout(() => this._connect(), wait);
  }

  _receive(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch (e) {
      return;
    }
    if (msg.event !== undefined) {
      this._event(msg);
    } else if (this._awaitingHello) {
      // The hello's answer. A refusal by the hall's rules (wrong PIN, wrong window)
      // comes with "id": null, so it is matched by order, not by id.
      this._awaitingHello = false;
      this._helloReply(msg);
    } else if (msg.id === "subscribe") {
      if (msg.ok && msg.result.mode === "snapshot") {
        this.lastSeq = msg.result.seq;
        this.onSnapshot(msg.result.snapshot);
      }
    } else {
      const p = this._pending.get(String(msg.id));
      if (!p) return; // answered already, or timed out
      this._pending.delete(String(msg.id));
      clearTimeout(p.timer);
      if (msg.ok) {
        if (msg.result && typeof msg.result.now === "string") this.noteServerTime(msg.result.now);
        p.resolve(msg.result);
      } else {
        const e = msg.error || {};
        p.reject(new RequestError(e.code || "unknown", e.message || "", e.details));
      }
    }
  }

  _helloReply(msg) {
    if (!msg.ok) {
      // The server closes with 4001 right after; remember why, for the page.
      this.refusal = msg.error || { code: "unauthorized", message: "" };
      this._setState(State.REFUSED, this.refusal);
      return;
    }
    this.session = msg.result;
    this.refusal = null;
    this._delay = 250;
    if (this.subscribe) {
      const args = this.lastSeq === null ? {} : { since: this.lastSeq };
      this._ws.send(JSON.stringify({ v: 1, id: "subscribe", op: "subscribe", args }));
    }
    this._setState(State.ONLINE);
    this.onSession(this.session);
    // Requests made while offline, or whose reply the old connection lost: same message,
    // same idempotency key, so the server answers each once.
    for (const p of this._pending.values()) this._ws.send(p.message);
  }

  _event(msg) {
    if (msg.event === "subscribed") return;
    if (typeof msg.seq === "number") {
      if (this.lastSeq !== null && msg.seq <= this.lastSeq) return; // seen before a reconnect
      this.lastSeq = msg.seq;
    }
    if (msg.at) this.noteServerTime(msg.at);
    this.onEvent(msg.event, msg.data || {}, msg);
  }

  _setState(state, detail) {
    if (state === this.state && state !== State.REFUSED) return;
    this.state = state;
    this.onState(state, detail);
  }
}

/** Seconds as m:ss or h:mm:ss, for waited / served clocks. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Seconds between an ISO time and a Date, never negative. */
export function secondsSince(iso, now) {
  const t = Date.parse(iso || "");
  return Number.isNaN(t) ? 0 : Math.max(0, (now.getTime() - t) / 1000);
}

/** Shorthand for building elements without innerHTML (no markup from the wire). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
