// The clerk console (/clerk): sign in at a window, call and serve tickets.
//
// State comes from the server only: the snapshot and events (what every window does),
// the replies to this console's own actions, and two read-only operations when the
// server offers them (window.waiting, clerk.today). Without them the console still
// works and shows what it can work out from the events it has seen.

import { HallConnection, State, newKey, formatDuration, secondsSince, el } from "./hallq.js";
import { t, lang, setLevels, setLang, applyI18n, errorText, name } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["called", "serving"]); // a ticket the window still has to deal with
const RETRY_KEY_MS = 5 * 60 * 1000;

const S = {
  conn: null,
  info: null, // hall.info
  window: null, // this console's window number
  clerk: null, // the clerk id shown and recorded by window.open
  win: { status: "closed" }, // the window's view (snapshot / window.changed)
  current: null, // the window's ticket, full view
  rating: null, // {case, state, level, meaning, source}
  waiting: [],
  waitingTotal: 0,
  reports: null, // true: the server has window.waiting / clerk.today; false: not
  localWaiting: new Map(), // id -> ticket view, the fallback list
  today: null,
  localToday: { served: 0, durations: [], no_shows: 0, levels: [] },
  busy: null, // the action waiting for its reply: buttons stay disabled meanwhile
  queuedAction: null, // a shortcut pressed while busy
  retryKeys: {}, // op -> {key, args, until}: a timed-out action retried with its key
  opened: false, // window.open was done after this sign-in
  confirmCancel: null, // {id, until}: the first press of "cancel ticket"
};

// -- actions ---------------------------------------------------------------------------

const cur = () => (S.current && ACTIVE.has(S.current.status) ? S.current : null);
const open = () => S.win.status === "open";

// Each action: its shortcut key, when it makes sense, and what it does. The buttons,
// the keyboard and the shortcut help are all drawn from this one table.
const ACTIONS = [
  { id: "next", key: "n", label: "act.next", cls: "primary", can: () => open() && !cur(),
    run: () => call("call.next") },
  { id: "recall", key: "r", label: "act.recall", can: () => cur()?.status === "called",
    run: () => simple("call.recall") },
  { id: "start", key: "s", label: "act.start", can: () => cur()?.status === "called",
    run: () => simple("case.start") },
  { id: "finish", key: "f", label: "act.finish", cls: "good", can: () => Boolean(cur()),
    run: finish },
  { id: "noshow", key: "m", label: "act.noshow", cls: "warn", can: () => cur()?.status === "called",
    run: noShow },
  { id: "transfer", key: "t", label: "act.transfer", can: () => Boolean(cur()),
    run: openTransfer },
  { id: "cancel", key: "x", label: "act.cancel", cls: "warn", can: () => cur()?.status === "called",
    run: cancelCurrent },
  { id: "pause", key: "p", label: () => (S.win.status === "paused" ? "act.resume" : "act.pause"),
    can: () => (open() && !cur()) || S.win.status === "paused", run: pauseResume },
  { id: "number", key: "g", label: "act.number", can: () => open() && !cur(),
    run: () => $("number-input").focus(), noButton: true },
  { id: "signout", key: "l", label: "act.signout", can: () => true, run: signOut, always: true },
];

function labelOf(a) {
  return t(typeof a.label === "function" ? a.label() : a.label);
}

function enabled(a) {
  if (a.always) return S.busy === null;
  return S.conn?.online && S.busy === null && a.can();
}

/** Send one window operation; show its error; remember its key if it timed out.
 *  Ticket operations (cancel, rejoin) name the ticket, not the window: `ticketOp`. */
async function send(op, args = {}, ticketOp = false) {
  if (!S.conn.online) {
    say(t("clerk.refused.offline"), "error");
    return null;
  }
  // A retry of an action that timed out reuses its key: if the first attempt did reach
  // the server, the retry gets the same answer instead of doing it twice.
  const argsText = JSON.stringify(args);
  const prev = S.retryKeys[op];
  const key = prev && prev.until > Date.now() && prev.args === argsText ? prev.key : newKey(S.keyPrefix);
  S.busy = op;
  render();
  try {
    const full = ticketOp ? args : { window: S.window, ...args };
    const result = await S.conn.request(op, full, { key, whenOffline: "refuse" });
    delete S.retryKeys[op];
    return result;
  } catch (e) {
    if (e.code === "timeout") {
      S.retryKeys[op] = { key, args: argsText, until: Date.now() + RETRY_KEY_MS };
      say(t("clerk.timeout"), "error");
    } else {
      say(errorText(e), "error");
    }
    return null;
  } finally {
    S.busy = null;
    render();
    refreshSoon();
    // A shortcut pressed while this action was on its way runs now, if it still makes sense.
    const queued = S.queuedAction;
    S.queuedAction = null;
    if (queued) setTimeout(() => runAction(queued), 0);
  }
}

async function call(op, args) {
  const r = await send(op, args);
  if (!r) return;
  if (!r.ticket) {
    say(t("clerk.empty"), "info");
    return;
  }
  setCurrent(r.ticket);
  S.rating = null;
  say(t("clerk.called", { label: r.ticket.label }), "info");
}

async function simple(op) {
  const r = await send(op);
  if (r && r.ticket) setCurrent(r.ticket);
}

async function finish() {
  const r = await send("case.finish");
  if (!r) return;
  setCurrent(r.ticket);
  if (!S.rating || S.rating.case !== r.case) S.rating = { case: r.case, state: "pending" };
  say(t("clerk.finished", { label: r.ticket.label }), "info");
  render();
}

async function noShow() {
  const r = await send("case.no_show");
  if (!r) return;
  setCurrent(r.ticket);
  say(t("clerk.noshowed", { label: r.ticket.label }), "info");
}

// Cancelling is final, so it takes two presses within a few seconds.
const CONFIRM_MS = 4000;

async function cancelCurrent() {
  const ticket = cur();
  if (!ticket) return;
  if (!S.confirmCancel || S.confirmCancel.id !== ticket.id || Date.now() > S.confirmCancel.until) {
    S.confirmCancel = { id: ticket.id, until: Date.now() + CONFIRM_MS };
    say(t("clerk.cancel.confirm", { label: ticket.label }), "error");
    return;
  }
  S.confirmCancel = null;
  const r = await send("ticket.cancel", { ticket_id: ticket.id }, true);
  if (!r) return;
  setCurrent(r.ticket);
  say(t("clerk.cancelled", { label: r.ticket.label }), "info");
}

/** A citizen marked no-show came back: the typed number rejoins by its original time. */
async function rejoin() {
  const label = $("number-input").value.trim().toUpperCase();
  if (!label || !S.conn?.online || S.busy !== null) return;
  const r = await send("ticket.rejoin", { label }, true);
  if (!r) return;
  $("number-input").value = "";
  say(t("clerk.rejoined", { label: r.ticket.label }), "info");
}

async function pauseResume() {
  const op = S.win.status === "paused" ? "window.resume" : "window.pause";
  const r = await send(op);
  if (r) {
    S.win = r;
    say(t(op === "window.pause" ? "clerk.paused" : "clerk.resumed"), "info");
    render();
  }
}

async function callNumber(ev) {
  ev.preventDefault();
  const label = $("number-input").value.trim().toUpperCase();
  const a = ACTIONS.find((x) => x.id === "number");
  if (!label || !enabled(a)) {
    if (!enabled(a)) say(t("act.unavailable", { action: t("act.number") }), "error");
    return;
  }
  await call("call.number", { label });
  if (cur()) $("number-input").value = "";
}

function openTransfer() {
  const ticket = cur();
  if (!ticket) return;
  $("transfer-title").textContent = t("clerk.transfer.title", { label: ticket.label });
  const qs = $("transfer-queue");
  qs.replaceChildren(...S.info.queues.map((q) =>
    el("option", { value: q.prefix, selected: q.prefix === ticket.queue }, `${q.prefix} · ${name(q.name)}`)));
  const ws = $("transfer-window");
  ws.replaceChildren(...S.info.windows.filter((w) => w.number !== S.window).map((w) =>
    el("option", { value: String(w.number) }, `${t("common.window", { n: w.number })} · ${areaName(w.area)}`)));
  $("transfer").showModal();
}

async function transfer(args, toText) {
  $("transfer").close();
  const label = cur()?.label;
  const r = await send("ticket.transfer", args);
  if (!r) return;
  S.current = null;
  S.rating = null;
  say(t("clerk.transferred", { label, to: toText }), "info");
  render();
}

async function signOut() {
  if (cur()) {
    say(t("clerk.signout.busy"), "error");
    return;
  }
  if (S.conn.online && S.win.status !== "closed") {
    const r = await send("window.close");
    if (!r) return;
  }
  S.conn.close();
  sessionStorage.removeItem("hallq.clerk.token");
  showSignIn("");
}

// -- state from the server -------------------------------------------------------------

function setCurrent(ticket) {
  S.current = ticket;
  render();
}

function onSnapshot(snap) {
  const w = (snap.windows || []).find((x) => x.number === S.window);
  if (w) S.win = w;
  // The snapshot names the window's ticket; its full view is among the recent calls.
  if (w && w.ticket) {
    const full = (snap.recent_calls || []).find((x) => x.label === w.ticket && x.window === S.window);
    if (full && (!S.current || S.current.label !== full.label)) S.current = full;
    if (full) S.current = { ...full, status: w.ticket_status || full.status };
  } else if (w && !w.ticket) {
    S.current = null;
  }
  S.stats = Object.fromEntries((snap.queues || []).map((q) => [q.queue, q]));
  loadBrought(S.current);
  render();
  if (!S.opened) {
    S.opened = true;
    ensureOpen();
  }
  refreshSoon();
}

/** Open the window for this clerk after sign-in (a paused window stays paused). */
async function ensureOpen() {
  if (S.win.status === "closed" || (S.win.status === "open" && S.win.clerk !== S.clerk)) {
    const r = await send("window.open", { clerk: S.clerk });
    if (r) {
      S.win = r;
      say(t("clerk.opened"), "info");
      render();
    }
  }
}

function onEvent(kind, data) {
  const mine = data.window === S.window || data.number === S.window;
  if (kind === "window.changed" && data.number === S.window) {
    S.win = data;
    if (!data.ticket) S.current = null;
  } else if (kind.startsWith("ticket.") && data.window === S.window && kind !== "ticket.transferred") {
    S.current = data;
    if (kind === "ticket.called") S.rating = null;
  } else if (kind === "ticket.transferred" && data.from_window === S.window) {
    if (S.current && S.current.id === data.id) S.current = null;
  } else if (kind === "ticket.cancelled" && S.current && S.current.id === data.id) {
    S.current = null;
  } else if (kind === "queue.stats") {
    S.stats = { ...(S.stats || {}), [data.queue]: data };
  }
  if (kind === "ticket.called" && data.window === S.window) loadBrought(data);
  if (kind.startsWith("rating.") && mine) onRating(kind, data);
  trackLocally(kind, data);
  if (kind.startsWith("ticket.") || kind.startsWith("rating.") || kind === "window.changed") refreshSoon();
  render();
}

function onRating(kind, data) {
  if (kind === "rating.requested") {
    S.rating = { case: data.case, state: "pending", due: data.due };
  } else if (S.rating && S.rating.case !== undefined && S.rating.case !== data.case) {
    return; // an older case of this window; the console shows the latest only
  } else if (kind === "rating.recorded") {
    S.rating = { case: data.case, state: "rated", level: data.level, source: data.source };
  } else if (kind === "rating.not_rated") {
    S.rating = { case: data.case, state: "not_rated" };
  }
}

/** The fallback list and figures, from the events seen since sign-in. */
function trackLocally(kind, data) {
  if (kind.startsWith("ticket.") && data.id !== undefined) {
    if (data.status === "waiting" && eligible(data)) S.localWaiting.set(data.id, data);
    else S.localWaiting.delete(data.id);
  }
  if (data.window !== S.window) return;
  const L = S.localToday;
  if (kind === "ticket.finished") {
    L.served += 1;
    const start = data.started_at || data.called_at;
    if (start) L.durations.push(secondsSince(start, S.conn.serverNow()));
  } else if (kind === "ticket.no_show") {
    L.no_shows += 1;
  } else if (kind === "rating.recorded") {
    L.levels.push(Boolean(data.satisfied)); // the server says which are satisfied (one rule)
  }
}

function eligible(ticket) {
  const w = S.info?.windows.find((x) => x.number === S.window);
  if (ticket.target_window !== null && ticket.target_window !== undefined) return ticket.target_window === S.window;
  return Boolean(w && w.queues.includes(ticket.queue));
}

// The call order of HallOps.call_next: priority, then appointments, then the window's
// queue preference, then original time.
function callKey(tk) {
  const w = S.info?.windows.find((x) => x.number === S.window);
  const cls = tk.priority && tk.priority !== "appointment" ? 0 : tk.priority === "appointment" ? 1 : 2;
  const pref = cls === 2 && w ? Math.max(0, w.queues.indexOf(tk.queue)) : 0;
  return [cls, pref, Date.parse(tk.sort_at || tk.issued_at), tk.id];
}

let refreshTimer = null;
/** Ask for the waiting list and figures again, once for a burst of events. */
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshReports, 150);
}

async function refreshReports() {
  if (!S.conn?.online || S.reports === false) return;
  try {
    const [w, d] = await Promise.all([
      S.conn.request("window.waiting", { window: S.window }),
      S.conn.request("clerk.today", { window: S.window }),
    ]);
    S.reports = true;
    S.waiting = w.waiting;
    S.waitingTotal = w.total;
    if (w.current && (!S.current || S.current.id === w.current.id)) {
      S.current = w.current;
      if (w.current.case && w.current.rating_state && (!S.rating || S.rating.case === w.current.case)) {
        S.rating = { ...(S.rating || {}), case: w.current.case, state: w.current.rating_state,
          level: w.current.rating ?? S.rating?.level };
      }
    }
    S.today = d;
  } catch (e) {
    // An older server without these operations: fall back to what the events show.
    if (e.code === "unknown_op" || e.code === "forbidden") S.reports = false;
  }
  render();
}

// -- drawing ---------------------------------------------------------------------------

function say(text, kind = "info") {
  const m = $("msg");
  m.textContent = text;
  m.className = `msg ${kind}`;
}

function serviceOf(id) {
  return S.info?.services.find((s) => s.id === id);
}

function areaName(id) {
  return name(S.info?.areas.find((a) => a.id === id)?.name) || id || "";
}

function render() {
  if (!S.conn || $("console").hidden) return;
  $("who").textContent = t("clerk.signedin", { clerk: S.clerk || "", window: t("common.window", { n: S.window }) })
    + ` · ${t(`clerk.status.${S.win.status}`)}`;
  renderCurrent();
  for (const a of ACTIONS) {
    const b = a.noButton ? $("act-number") : $(`act-${a.id}`);
    if (!b) continue;
    b.disabled = !enabled(a);
    b.firstChild.textContent = labelOf(a);
  }
  renderWaiting();
  renderToday();
}

function renderCurrent() {
  const box = $("current");
  const tk = S.current;
  if (!tk || !["called", "serving", "done", "no_show"].includes(tk.status)) {
    box.replaceChildren(el("h2", { text: t("clerk.current") }), el("p", { class: "muted", text: t("clerk.nocurrent") }));
    return;
  }
  const now = S.conn.serverNow();
  const sv = serviceOf(tk.service);
  const facts = [];
  const fact = (k, ...v) => facts.push(el("dt", { text: k }), el("dd", {}, ...v));
  fact(t("clerk.service"), sv ? name(sv.name) : tk.service);
  if (tk.priority) fact(t("clerk.priority"), el("span", { class: "badge priority", text: t(`prio.${tk.priority}`) }));
  fact(t("clerk.language"), t(`langname.${tk.language}`));
  // Waited: from taking the ticket (its original time) until called, or until now.
  const calledAt = tk.called_at ? Date.parse(tk.called_at) : null;
  const waited = calledAt ? (calledAt - Date.parse(tk.issued_at)) / 1000 : secondsSince(tk.issued_at, now);
  fact(t("clerk.waited"), el("span", { id: "waited", text: formatDuration(waited) }));
  if (ACTIVE.has(tk.status)) {
    const since = tk.started_at || tk.called_at;
    fact(t("clerk.served"), el("span", { id: "served", text: formatDuration(secondsSince(since, now)) }));
  }
  if (sv) {
    const promise = sv.kind === "promised"
      ? t("clerk.promise.promised", { days: sv.promised_days, n: sv.time_limit_minutes })
      : t("clerk.promise.instant", { n: sv.time_limit_minutes });
    fact(t("clerk.promise"), promise);
    const materials = (sv.materials && (sv.materials[lang()] || sv.materials.zh)) || [];
    if (materials.length) fact(t("clerk.materials"), el("ul", { style: "margin:0;padding-left:1.1rem" }, materials.map((m) => el("li", { text: m }))));
  }
  const status = [t(`tstatus.${tk.status}`)];
  if (tk.recalls) status.push(t("clerk.recalls", { n: tk.recalls }));
  const parts = [
    el("h2", { text: t("clerk.current") }),
    el("div", { class: "label", id: "current-label", text: tk.label }),
    el("div", { class: "status", id: "current-status", "data-status": tk.status, text: status.join(" · ") }),
    el("dl", { class: "facts" }, facts),
  ];
  if (tk.status === "done" && S.rating) parts.push(renderRating());
  box.replaceChildren(...parts);
}

function renderRating() {
  const r = S.rating;
  let text = t("clerk.rating.pending");
  if (r.state === "rated") {
    text = t("clerk.rating.rated", { meaning: t(`level.${r.level}`), source: t(`source.${r.source || "device"}`) });
  } else if (r.state === "not_rated") {
    text = t("clerk.rating.not_rated");
  }
  return el("p", { class: "rating", id: "rating", "data-state": r.state, text });
}

function renderWaiting() {
  const box = $("waiting");
  let list = S.waiting;
  let total = S.waitingTotal;
  const partial = S.reports !== true;
  if (partial) {
    list = [...S.localWaiting.values()].sort((a, b) => {
      const ka = callKey(a), kb = callKey(b);
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
      return 0;
    });
    total = list.length;
  }
  const w = S.info?.windows.find((x) => x.number === S.window);
  const counts = (w?.queues || []).map((q) => `${q} ${S.stats?.[q]?.waiting ?? "–"}`).join(" · ");
  $("waiting-title").textContent = `${t("clerk.waiting")} — ${partial ? counts : t("clerk.waiting.count", { n: total })}`;
  const now = S.conn.serverNow();
  const shown = list.slice(0, 12);
  const items = shown.map((tk) => el("li", { "data-label": tk.label },
    el("b", { text: tk.label }), " ",
    name(serviceOf(tk.service)?.name) || tk.service, " ",
    tk.priority ? el("span", { class: "badge priority", text: t(`prio.${tk.priority}`) }) : null, " ",
    el("span", { class: "muted", text: formatDuration(secondsSince(tk.sort_at || tk.issued_at, now)) })));
  const parts = [items.length ? el("ol", { class: "waiting", id: "waiting-list" }, items)
    : el("p", { class: "muted", id: "waiting-list", text: t("clerk.empty") })];
  if (total > shown.length) parts.push(el("p", { class: "muted", text: t("clerk.waiting.more", { n: total - shown.length }) }));
  if (partial) parts.push(el("p", { class: "muted", text: t("clerk.waiting.partial") }));
  box.replaceChildren(...parts);
}

function renderToday() {
  let f;
  const partial = S.reports !== true || !S.today;
  if (!partial) {
    const d = S.today;
    f = { served: d.served, avg: d.avg_service_s, no_shows: d.no_shows, sat: d.satisfaction };
  } else {
    const L = S.localToday;
    const avg = L.durations.length ? L.durations.reduce((a, b) => a + b, 0) / L.durations.length : null;
    const sat = L.levels.length ? L.levels.filter(Boolean).length / L.levels.length : null;
    f = { served: L.served, avg, no_shows: L.no_shows, sat };
  }
  $("today-title").textContent = t("clerk.today") + (partial ? ` ${t("clerk.today.partial")}` : "");
  const cell = (id, label, value) => el("div", { id }, el("b", { text: value }), label);
  $("today").replaceChildren(
    cell("today-served", t("clerk.today.served"), String(f.served)),
    cell("today-avg", t("clerk.today.avg"), f.avg === null ? "–" : formatDuration(f.avg)),
    cell("today-noshows", t("clerk.today.noshows"), String(f.no_shows)),
    cell("today-satisfaction", t("clerk.today.satisfaction"), f.sat === null ? "–" : `${Math.round(f.sat * 100)}%`),
  );
}

function renderConn(state) {
  const c = $("conn");
  c.dataset.state = state;
  let text = t(`conn.${state}`);
  if (S.conn && S.conn.pendingCount && state !== State.ONLINE) text += ` · ${t("conn.pending", { n: S.conn.pendingCount })}`;
  c.textContent = text;
}

// -- sign-in ---------------------------------------------------------------------------

let mode = "pin";

function setMode(m) {
  mode = m;
  $("pin-fields").hidden = m !== "pin";
  $("token-fields").hidden = m !== "token";
  $("mode-pin").setAttribute("aria-selected", String(m === "pin"));
  $("mode-token").setAttribute("aria-selected", String(m === "token"));
}

function showSignIn(message) {
  $("console").hidden = true;
  $("signin").hidden = false;
  $("who").textContent = "";
  $("clerk-pin").value = "";
  const m = $("signin-msg");
  m.textContent = message || "";
  m.className = message ? "msg error" : "msg";
  $("signin-button").disabled = false;
}

function signIn(hello, clerkName) {
  if (S.conn) S.conn.close();
  Object.assign(S, {
    window: null, clerk: clerkName, win: { status: "closed" }, current: null, rating: null,
    waiting: [], reports: null, localWaiting: new Map(), today: null, opened: false,
    localToday: { served: 0, durations: [], no_shows: 0, levels: [] }, retryKeys: {}, busy: null,
  });
  $("signin-button").disabled = true;
  $("signin-msg").textContent = t("clerk.signing");
  $("signin-msg").className = "msg info";
  let first = true;
  const conn = new HallConnection({
    hello,
    name: "clerk-console",
    onState: (state, detail) => {
      renderConn(state);
      if (state === State.REFUSED) {
        conn.close();
        renderConn(State.REFUSED);
        if (detail && detail.code === "window_in_use" && !hello.take_over) {
          // Someone else works this window: take it over only if the clerk says so.
          const who = (detail.details && detail.details.clerk) || "";
          if (globalThis.confirm(t("clerk.takeover", { clerk: who }))) {
            signIn({ ...hello, take_over: true }, clerkName);
            return;
          }
        }
        sessionStorage.removeItem("hallq.clerk.token");
        showSignIn(errorText(detail));
      } else if (state === State.OFFLINE && conn.pendingCount) {
        say(t("clerk.retrying", { action: S.busy || "" }), "error");
      }
      render();
    },
    onSession: async (session) => {
      S.window = session.window;
      S.clerk = S.clerk || session.device;
      S.keyPrefix = `${S.clerk}@${S.window}`;
      if (first) {
        first = false;
        if (hello.token) sessionStorage.setItem("hallq.clerk.token", JSON.stringify({ token: hello.token, clerk: clerkName }));
        S.info = await conn.request("hall.info");
        setLevels(S.info);
        $("signin").hidden = true;
        $("console").hidden = false;
        $("msg").textContent = "";
        render();
      }
    },
    onSnapshot: async (snap) => {
      // hall.info is asked for right after hello; the snapshot may come first.
      while (!S.info && conn.state === State.ONLINE) await new Promise((r) => setTimeout(r, 20));
      onSnapshot(snap);
    },
    onEvent: (kind, data) => {
      if (S.info) onEvent(kind, data);
    },
  });
  S.conn = conn;
  conn.start();
  // For tests and support staff: this console's connection.
  globalThis.hallq = { conn };
}

function setup() {
  setLang(lang(), false);
  applyI18n();
  renderConn(State.CLOSED);
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    applyI18n();
    if (S.conn) renderConn(S.conn.state);
    render();
    drawShortcuts();
  });
  $("mode-pin").addEventListener("click", () => setMode("pin"));
  $("mode-token").addEventListener("click", () => setMode("token"));
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (mode === "pin") {
      const clerk = $("clerk-id").value.trim();
      const win = parseInt($("clerk-window").value, 10);
      signIn({ clerk, pin: $("clerk-pin").value, window: Number.isFinite(win) ? win : undefined }, clerk);
    } else {
      // A terminal's token works as itself: cases are recorded under the token's name,
      // never under a clerk id typed here (the server refuses that).
      signIn({ token: $("clerk-token").value.trim() }, null);
    }
  });
  // The action buttons, drawn once; render() only changes their state and labels.
  const box = $("actions");
  for (const a of ACTIONS) {
    if (a.noButton) continue;
    const b = el("button", { type: "button", id: `act-${a.id}`, class: a.cls || null }, "", el("kbd", { text: a.key.toUpperCase() }));
    b.addEventListener("click", () => enabled(a) && a.run());
    box.append(b);
  }
  $("act-number").append("", el("kbd", { text: "G" }));
  $("number-form").addEventListener("submit", callNumber);
  $("act-rejoin").addEventListener("click", rejoin);
  $("pickup-form").addEventListener("submit", findCase);
  $("pickup-deliver").addEventListener("click", deliver);
  $("transfer-to-queue").addEventListener("click", () => {
    const q = $("transfer-queue").value;
    const qd = S.info.queues.find((x) => x.prefix === q);
    transfer({ to_queue: q }, `${q} ${name(qd?.name)}`);
  });
  $("transfer-to-window").addEventListener("click", () => {
    const n = parseInt($("transfer-window").value, 10);
    transfer({ to_window: n }, t("common.window", { n }));
  });
  document.addEventListener("keydown", onKey);
  drawShortcuts();
  // Once a second: the waited / served clocks and the waiting list's ages.
  setInterval(() => {
    if (S.conn && !$("console").hidden) {
      renderCurrent();
      renderWaiting();
    }
  }, 1000);
  // A window token survives a reload of this tab (never a PIN).
  const saved = sessionStorage.getItem("hallq.clerk.token");
  if (saved) {
    const { token, clerk } = JSON.parse(saved);
    setMode("token");
    signIn({ token }, clerk);
  }
}

// -- the pick-up window ------------------------------------------------------------------

let pickup = null; // the case file found by number

async function findCase(ev) {
  ev.preventDefault();
  const number = $("pickup-number").value.trim();
  if (!number || !S.conn?.online) return;
  try {
    pickup = await S.conn.request("casefile.get", { number });
    say("");
  } catch (e) {
    pickup = null;
    say(errorText(e), "error");
  }
  renderPickup();
}

async function deliver() {
  if (!pickup) return;
  try {
    pickup = await S.conn.request("casefile.deliver", { number: pickup.number }, { whenOffline: "refuse" });
    say(t("pickup.delivered", { number: pickup.number }), "ok");
  } catch (e) {
    say(errorText(e), "error");
  }
  renderPickup();
}

function renderPickup() {
  $("pickup-case").hidden = !pickup;
  if (!pickup) return;
  const sv = serviceOf(pickup.service);
  $("pickup-case").dataset.state = pickup.state;
  $("pickup-info").textContent = `${pickup.number} · ${sv ? name(sv.name) : pickup.service} · ${t(`cstate.${pickup.state}`)}`;
  $("pickup-deliver").hidden = pickup.state !== "ready";
}

// A pick-up ticket (统一出件) taken at the kiosk with a case number: when this window
// calls it, the cases it came for are listed here, each handed over with one click.
let brought = null; // { id, label, cases }

async function loadBrought(tk) {
  const pickupService = S.info && S.info.pickup_service;
  if (!tk || !pickupService || tk.service !== pickupService || tk.window !== S.window) return;
  if (brought && brought.id === tk.id) return;
  brought = { id: tk.id, label: tk.label, cases: [] };
  try {
    brought.cases = (await S.conn.request("casefile.pickups", { ticket_id: tk.id })).cases;
  } catch (e) {
    say(errorText(e), "error");
  }
  renderBrought();
}

async function deliverBrought(number) {
  try {
    const done = await S.conn.request("casefile.deliver", { number }, { whenOffline: "refuse" });
    if (brought) brought.cases = brought.cases.map((c) => (c.number === number ? done : c));
    say(t("pickup.delivered", { number }), "ok");
  } catch (e) {
    say(errorText(e), "error");
  }
  renderBrought();
}

function renderBrought() {
  $("pickup-brought").hidden = !brought || !brought.cases.length;
  if (!brought) return;
  $("pickup-brought-title").textContent = t("pickup.brought", { label: brought.label });
  $("pickup-brought-list").replaceChildren(...brought.cases.map((c) => {
    const sv = serviceOf(c.service);
    const text = `${c.number} · ${sv ? name(sv.name) : c.service} · ${t(`cstate.${c.state}`)}`;
    const item = el("li", { "data-number": c.number, "data-state": c.state }, el("span", { text }));
    if (c.state === "ready") {
      const b = el("button", { type: "button", class: "good", text: t("pickup.deliver") });
      b.addEventListener("click", () => deliverBrought(c.number));
      item.append(" ", b);
    }
    return item;
  }));
}

function drawShortcuts() {
  $("shortcuts").textContent = `${t("clerk.shortcuts")}: ` + ACTIONS.map((a) => `${a.key.toUpperCase()} ${labelOf(a)}`).join(" · ");
}

function onKey(ev) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey || $("console").hidden || $("transfer").open) return;
  const tag = (ev.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "select" || tag === "textarea") return;
  const a = ACTIONS.find((x) => x.key === ev.key.toLowerCase());
  if (!a) return;
  ev.preventDefault();
  if (S.busy !== null && S.conn.online) {
    S.queuedAction = a; // fast hands: the clerk pressed S before N's reply came back
    return;
  }
  runAction(a);
}

function runAction(a) {
  if (enabled(a)) a.run();
  else if (!S.conn.online) say(t("clerk.refused.offline"), "error");
  else say(t("act.unavailable", { action: labelOf(a) }), "error");
}

setup();
