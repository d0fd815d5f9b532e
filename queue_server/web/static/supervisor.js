// The supervisor's live view (/supervisor): every queue and every window, as they change.
//
// The page is a list of panels over one shared state that the snapshot and the events
// keep current. Reports and alert handling come later as more panels (and more event
// handlers in apply()), without touching the ones here.

import { HallConnection, State, formatDuration, secondsSince, el } from "./hallq.js";
import { t, lang, setLang, applyI18n, errorText, name } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hallq.supervisor.token";
const MAX_ALERTS = 50;

const V = {
  conn: null,
  info: null,
  windows: new Map(), // number -> window view
  queues: new Map(), // prefix -> queue.stats + received (browser ms), for ticking waits
  overdue: new Map(), // window number -> case id that ran past its limit
  alerts: [], // newest first: {kind, data, at}
  area: "", // the area filter of the windows panel; "" is all
  ledger: [], // open rectification records (ledger.list), red first
  deliveries: [], // alerts sent to people and how their delivery went (alert.list)
  step: null, // {record, op} of the open step dialog
};

// -- the state, from the snapshot and events -------------------------------------------

function onSnapshot(snap) {
  V.windows = new Map((snap.windows || []).map((w) => [w.number, w]));
  V.queues = new Map((snap.queues || []).map((q) => [q.queue, { ...q, received: Date.now() }]));
  V.overdue.clear();
  render();
}

function apply(kind, data) {
  if (kind === "window.changed") {
    const before = V.windows.get(data.number);
    // A red light belongs to one case: a new ticket (or none) at the window clears it.
    if (!before || before.ticket !== data.ticket || !["called", "serving"].includes(data.ticket_status)) {
      V.overdue.delete(data.number);
    }
    V.windows.set(data.number, data);
  } else if (kind === "queue.stats") {
    V.queues.set(data.queue, { ...data, received: Date.now() });
  } else if (kind === "case.overdue") {
    V.overdue.set(data.window, data.case);
    addAlert(kind, data);
  } else if (kind === "rating.dissatisfied" || kind === "device.state" || kind === "signin.locked") {
    addAlert(kind, data);
  }
  if (kind === "ledger.opened" || kind === "ledger.changed" || kind === "ledger.overdue") loadLedger();
  if (kind === "ledger.overdue") addAlert(kind, data);
  if (["rating.dissatisfied", "case.overdue", "casefile.light", "signin.locked"].includes(kind)) {
    setTimeout(loadDeliveries, 1000); // give the sender a moment
  }
}

/** The open ledger records, asked again whenever one opens, moves or turns red. */
async function loadLedger() {
  if (!V.conn?.online) return;
  try {
    V.ledger = (await V.conn.request("ledger.list")).records;
    render();
  } catch (e) {
    console.warn("ledger unavailable", e);
  }
}

function addAlert(kind, data) {
  V.alerts.unshift({ kind, data, at: V.conn.serverNow() });
  V.alerts.length = Math.min(V.alerts.length, MAX_ALERTS);
}

// -- panels ----------------------------------------------------------------------------

const PANELS = [
  { id: "queues", title: "sup.queues", render: renderQueues },
  { id: "windows", title: "sup.windows", render: renderWindows, tools: areaFilter },
  { id: "alerts", title: "sup.alerts", render: renderAlerts },
  { id: "ledger", title: "sup.ledger", render: renderLedger },
  { id: "deliveries", title: "sup.deliveries", render: renderDeliveries },
];

/** Alerts sent by e-mail, SMS or webhook: asked again after each event that may send
 * one, and every 10 s while any is still on its way. */
async function loadDeliveries() {
  if (!V.conn?.online) return;
  try {
    V.deliveries = (await V.conn.request("alert.list", { limit: 20 })).alerts;
    render();
  } catch (e) {
    console.warn("alert list unavailable", e);
  }
  clearTimeout(V.deliveryTimer);
  if (V.deliveries.some((d) => ["queued", "sending", "failed"].includes(d.state))) {
    V.deliveryTimer = setTimeout(loadDeliveries, 10_000);
  }
}

function renderDeliveries() {
  if (!V.deliveries.length) return [el("p", { class: "muted", text: t("sup.deliveries.none") })];
  return [el("ul", { class: "alerts", id: "deliveries" }, V.deliveries.map((d) =>
    el("li", { "data-state": d.state, "data-channel": d.channel },
      `${d.subject} → ${t(`sup.channel.${d.channel}`)} ${d.to}: ${t(`sup.delivery.${d.state}`)}`
      + (d.error ? ` (${d.error})` : ""))))];
}

function queueName(prefix) {
  const q = V.info?.queues.find((x) => x.prefix === prefix);
  return q ? `${prefix} · ${name(q.name)}` : prefix;
}

function areaName(id) {
  return name(V.info?.areas.find((a) => a.id === id)?.name) || id || "";
}

function longestWait(q) {
  // The server's figure was right when it arrived; it grows by itself while nobody moves.
  return q.waiting ? q.longest_wait_s + (Date.now() - q.received) / 1000 : 0;
}

function renderQueues() {
  const head = el("tr", {},
    el("th", { text: t("sup.q.name") }), el("th", { class: "num", text: t("sup.q.waiting") }),
    el("th", { class: "num", text: t("sup.q.longest") }), el("th", { class: "num", text: t("sup.q.open") }),
    el("th", { class: "num", text: t("sup.q.est") }));
  const rows = [...V.queues.values()].map((q) => el("tr", { "data-queue": q.queue },
    el("td", { text: queueName(q.queue) }),
    el("td", { class: "num", "data-col": "waiting", text: String(q.waiting) }),
    el("td", { class: "num", "data-col": "longest", text: formatDuration(longestWait(q)) }),
    el("td", { class: "num", text: String(q.open_windows) }),
    el("td", { class: "num", text: t("common.minutes", { n: q.est_wait_minutes }) })));
  return [el("table", { id: "queues" }, el("thead", {}, head), el("tbody", {}, rows))];
}

function windowText(w) {
  if (w.status === "closed") return t("sup.w.closed");
  if (w.status === "paused") return t("sup.w.paused") + (w.pause_reason ? ` · ${w.pause_reason}` : "");
  if (w.ticket && w.ticket_status === "called") return t("sup.w.called", { label: w.ticket });
  if (w.ticket && w.ticket_status === "serving") return t("sup.w.serving", { label: w.ticket });
  return t("sup.w.idle");
}

function renderWindows() {
  const now = V.conn.serverNow();
  const cards = [...V.windows.values()]
    .filter((w) => !V.area || w.area === V.area)
    .map((w) => {
      const busy = w.ticket && ["called", "serving"].includes(w.ticket_status) ? w.ticket_status : null;
      const overdue = V.overdue.has(w.number);
      return el("div", {
        class: "win", "data-window": String(w.number), "data-status": w.status,
        "data-busy": busy, "data-overdue": overdue ? "1" : null,
      },
      el("div", { class: "n", text: t("sup.w.title", { n: w.number }) }),
      el("div", { class: "muted", text: areaName(w.area) }),
      el("div", { class: "state", text: windowText(w) }),
      w.clerk ? el("div", { class: "muted", text: w.clerk }) : null,
      // How long in this state: serving this ticket, idle, paused.
      w.status !== "closed" && w.since ? el("div", { class: "since", text: formatDuration(secondsSince(w.since, now)) }) : null,
      overdue ? el("div", { class: "badge", style: "background:#b3261e;color:#fff", text: t("sup.w.overdue") }) : null);
    });
  return [el("div", { class: "windows", id: "windows" }, cards)];
}

function areaFilter() {
  const sel = el("select", { id: "area", style: "flex:0 0 auto;width:auto", onchange: (ev) => { V.area = ev.target.value; render(); } },
    el("option", { value: "", text: t("sup.area.all") }),
    (V.info?.areas || []).map((a) => el("option", { value: a.id, selected: a.id === V.area, text: name(a.name) })));
  return sel;
}

function renderAlerts() {
  if (!V.alerts.length) return [el("p", { class: "muted", text: t("sup.alerts.none") })];
  return [el("ul", { class: "alerts", id: "alerts" }, V.alerts.map(({ kind, data, at }) => {
    let text = "";
    if (kind === "case.overdue") text = t("sup.alert.overdue", { window: data.window, n: data.limit_minutes });
    else if (kind === "rating.dissatisfied") text = t("sup.alert.dissatisfied", { window: data.window, label: data.label, meaning: t(`level.${data.level}`) });
    else if (kind === "ledger.overdue") text = t("sup.alert.ledger", { id: data.id, window: data.window ?? "-", due: data.due });
    else if (kind === "signin.locked") text = t(`sup.alert.locked.${data.kind}`, { who: data.who });
    else text = t("sup.alert.device", { device: data.device, part: data.part, state: data.state });
    return el("li", { "data-kind": kind }, `${at.toLocaleTimeString(lang() === "zh" ? "zh-CN" : "en-GB")} ${text}`);
  }))];
}

function renderLedger() {
  if (!V.ledger.length) return [el("p", { class: "muted", text: t("sup.led.none") })];
  return [el("ul", { class: "alerts", id: "ledger" }, V.ledger.map((r) => el("li",
    { "data-id": String(r.id), "data-state": r.state, "data-light": r.light || "" },
    t("sup.led.item", {
      id: r.id, window: r.window ?? "-", meaning: t(`level.${r.level}`),
      state: t(`sup.led.state.${r.state}`), due: r.due || "-",
    }),
    r.light === "red" ? el("strong", { class: "red" }, ` ${t("sup.led.overdue")}`) : "",
    r.phone ? ` · ${r.phone}` : "",
    ...r.actions.map((op) => el("button", { type: "button", class: "small", "data-op": op,
      onclick: () => openStep(r, op) }, t(`sup.led.op.${op}`)))))) ];
}

function openStep(record, op) {
  V.step = { record, op };
  $("step-title").textContent = t("sup.led.title", { id: record.id, op: t(`sup.led.op.${op}`) });
  const sel = $("step-outcome");
  sel.replaceChildren(...record.outcomes[op].map((o) => el("option", { value: o }, t(`sup.led.out.${o}`))));
  $("step-note").value = "";
  $("step-msg").textContent = "";
  $("step").showModal();
}

async function saveStep(ev) {
  if (ev.submitter?.value !== "save") return; // "cancel" just closes the dialog
  ev.preventDefault();
  const { record, op } = V.step;
  const args = { id: record.id, outcome: $("step-outcome").value };
  const note = $("step-note").value.trim();
  if (note) args.note = note;
  try {
    await V.conn.request(`ledger.${op}`, args, { whenOffline: "refuse" });
    $("step").close();
    await loadLedger();
  } catch (e) {
    $("step-msg").textContent = errorText(e);
  }
}

// -- drawing ---------------------------------------------------------------------------

function render() {
  if (!V.conn || !V.info || $("panels").hidden) return;
  const wins = [...V.windows.values()];
  const waiting = [...V.queues.values()].reduce((n, q) => n + q.waiting, 0);
  const count = (st) => wins.filter((w) => w.status === st).length;
  $("summary").textContent = t("sup.summary", { waiting, open: count("open"), paused: count("paused"), closed: count("closed") });
  const box = $("panels");
  // The panels' frames (title, tools such as the area filter) are drawn once per
  // language, so an open drop-down survives the redraw each second; bodies are redrawn.
  if (box.dataset.lang !== lang()) {
    box.dataset.lang = lang();
    box.replaceChildren(...PANELS.map((p) => el("section", { class: "card", id: `panel-${p.id}` },
      el("div", { class: "row", style: "align-items:center" }, el("h2", { text: t(p.title) }), p.tools ? p.tools() : null),
      el("div", { id: `body-${p.id}` }))));
  }
  for (const p of PANELS) $(`body-${p.id}`).replaceChildren(...p.render());
}

function renderConn(state) {
  $("conn").dataset.state = state;
  $("conn").textContent = t(`conn.${state}`);
}

function signIn(token) {
  if (V.conn) V.conn.close();
  $("signin-button").disabled = true;
  const conn = new HallConnection({
    hello: { token },
    name: "supervisor-view",
    onState: (state, detail) => {
      renderConn(state);
      if (state === State.REFUSED) {
        conn.close();
        renderConn(State.REFUSED);
        sessionStorage.removeItem(TOKEN_KEY);
        $("panels").hidden = true;
        $("signin").hidden = false;
        $("signin-button").disabled = false;
        $("signin-msg").textContent = errorText(detail);
        $("signin-msg").className = "msg error";
      }
    },
    onSession: async () => {
      sessionStorage.setItem(TOKEN_KEY, token);
      if (!V.info) V.info = await conn.request("hall.info");
      loadLedger();
      loadDeliveries();
      $("signin").hidden = true;
      $("panels").hidden = false;
      render();
    },
    onSnapshot,
    onEvent: (kind, data) => {
      apply(kind, data);
      render();
    },
  });
  V.conn = conn;
  conn.start();
}

function setup() {
  setLang(lang(), false);
  applyI18n();
  renderConn(State.CLOSED);
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    applyI18n();
    if (V.conn) renderConn(V.conn.state);
    render();
  });
  $("step-form").addEventListener("submit", saveStep);
  $("signin").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn($("token").value.trim());
  });
  setInterval(render, 1000); // waits and "how long" figures tick between events
  // A wall screen can be set up with /supervisor#token=...; the token leaves the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname + location.search);
  const token = fromHash || sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
}

setup();
