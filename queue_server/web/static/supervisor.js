// The supervisor's live view (/supervisor): every queue and every window, as they change.
//
// The page is a list of panels over one shared state that the snapshot and the events
// keep current. Reports and alert handling come later as more panels (and more event
// handlers in apply()), without touching the ones here.

import { HallConnection, State, formatDuration, secondsSince, el } from "./hallq.js";
import { t, lang, setLevels, setLang, applyI18n, errorText, name } from "./i18n.js";

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
  caseLights: null, // casefile.lights: counts per department, the red cases
  accuracy: null, // today's wait-estimate error per queue (estimate.accuracy)
  today: null, // report.today: the day's figures and charts (drawn on the server)
  todayNode: null, // its drawing, made again only when the figures change
  reminders: { reminders: [], accountability: [] }, // reminder.list
  step: null, // {record, op} of the open step dialog
  may: new Set(), // the operations this token may use: the hello reply's, from the server's one table
};

/** Whether this token may use an operation (the server said so in its hello reply). */
const may = (op) => V.may.has(op);

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
  if (["casefile.light", "casefile.changed", "casefile.opened"].includes(kind)) loadCaseLightsSoon();
  if (kind === "ticket.called") loadAccuracySoon(); // one more wait is known
  if (["ticket.issued", "ticket.finished", "rating.recorded", "case.overdue"].includes(kind)) loadTodaySoon();
  if (["reminder.raised", "reminder.done", "accountability.raised"].includes(kind)) loadReminders();
  if (kind === "ledger.opened" || kind === "ledger.changed" || kind === "ledger.overdue") loadLedger();
  if (kind === "ledger.overdue") addAlert(kind, data);
  if (["rating.dissatisfied", "case.overdue", "casefile.light", "signin.locked"].includes(kind)) {
    setTimeout(loadDeliveries, 1000); // give the sender a moment
  }
}

/** The open ledger records, asked again whenever one opens, moves or turns red. */
async function loadLedger() {
  if (!V.conn?.online || !may("ledger.list")) return;
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

// Each panel names the operation it reads: a token that may not use it gets no panel.
const PANELS = [
  { id: "today", title: "sup.today", render: renderToday, op: "report.today" },
  { id: "queues", title: "sup.queues", render: renderQueues, op: "snapshot" },
  { id: "windows", title: "sup.windows", render: renderWindows, tools: areaFilter, op: "snapshot" },
  { id: "alerts", title: "sup.alerts", render: renderAlerts, op: "subscribe" },
  { id: "ledger", title: "sup.ledger", render: renderLedger, op: "ledger.list" },
  { id: "deliveries", title: "sup.deliveries", render: renderDeliveries, op: "alert.list" },
  { id: "caselights", title: "sup.caselights", render: renderCaseLights, op: "casefile.lights" },
  { id: "estimates", title: "sup.estimates", render: renderAccuracy, tools: accuracyTools, op: "estimate.accuracy" },
  { id: "reminders", title: "sup.reminders", render: renderReminders, op: "reminder.list" },
  { id: "reports", title: "sup.reports", render: renderReports, tools: reportTools, op: "report.get" },
  { id: "audit", title: "sup.audit", render: renderAudit, tools: auditTools, op: "audit.list" },
];

/** The promised cases' lights, asked again (once for a burst) after any event that
 * moves one: the sweep's light changes, a step in the office, a case opened. */
async function loadCaseLights() {
  if (!V.conn?.online || !may("casefile.lights")) return;
  try {
    V.caseLights = await V.conn.request("casefile.lights");
    render();
  } catch (e) {
    console.warn("case lights unavailable", e);
  }
}

function loadCaseLightsSoon() {
  clearTimeout(V.caseLightsTimer);
  V.caseLightsTimer = setTimeout(loadCaseLights, 200);
}

function deptName(id) {
  return name(V.info?.departments?.find((d) => d.id === id)?.name) || id;
}

function renderCaseLights() {
  const cl = V.caseLights;
  if (!cl) return [];
  const head = el("tr", {}, el("th", { text: t("sup.cl.dept") }),
    ...["red", "yellow", "green"].map((k) => el("th", { class: "num", text: t(`sup.cl.${k}`) })));
  const rows = cl.departments.map((d) => el("tr", { "data-department": d.department },
    el("td", { text: deptName(d.department) }),
    ...["red", "yellow", "green"].map((k) => el("td", { class: "num", "data-light": k, text: String(d[k]) }))));
  const table = el("table", { id: "case-lights" }, el("thead", {}, head), el("tbody", {}, rows));
  if (!cl.red.length) return [table, el("p", { class: "muted", id: "red-cases-none", text: t("sup.cl.none") })];
  const service = (id) => name(V.info?.services.find((s) => s.id === id)?.name) || id;
  return [table, el("ul", { class: "alerts", id: "red-cases" }, cl.red.map((c) => el("li", { "data-number": c.number },
    t(c.days_over === null ? "sup.cl.over.unknown" : "sup.cl.over", {
      number: c.number, service: service(c.service), dept: deptName(c.department), n: c.days_over,
    }))))];
}

// -- the wait estimates' own error today (issue 15) ------------------------------------

/** Today's figures, asked again a few seconds after calls (several calls, one request). */
async function loadAccuracy() {
  if (!V.conn?.online || !may("estimate.accuracy")) return;
  try {
    V.accuracy = await V.conn.request("estimate.accuracy");
    render();
  } catch (e) {
    console.warn("estimate figures unavailable", e);
  }
}

function loadAccuracySoon() {
  if (V.accuracyTimer) return;
  V.accuracyTimer = setTimeout(() => {
    V.accuracyTimer = null;
    loadAccuracy();
  }, 2000);
}

/** A share as the estimate panel shows it (whole per cent). */
const pctWhole = (x) => `${Math.round(x * 100)} %`;

function renderAccuracy() {
  const a = V.accuracy;
  if (!a || !a.all.n) return [el("p", { class: "muted", text: t("sup.est.none") })];
  const head = el("tr", {}, ...["queue", "n", "mae", "low", "low5", "covered"].map((k) =>
    el("th", { class: k === "queue" ? "" : "num", text: t(`sup.est.${k}`) })));
  const row = (label, f, key) => el("tr", { "data-est": key },
    el("td", { text: label }),
    el("td", { class: "num", "data-col": "n", text: String(f.n) }),
    el("td", { class: "num", "data-col": "mae", text: t("sup.est.mae.v", { m: f.mae_min, p: Math.round(f.mae_share * 100) }) }),
    el("td", { class: "num", "data-col": "low", text: pctWhole(f.too_low) }),
    el("td", { class: "num", "data-col": "low5", text: pctWhole(f.too_low_5) }),
    el("td", { class: "num", "data-col": "covered", text: pctWhole(f.covered) }));
  const rows = a.queues.map((q) => row(queueName(q.queue), q, q.queue));
  rows.push(row(t("sup.est.all"), a.all, "all"));
  return [el("table", { id: "estimates" }, el("thead", {}, head), el("tbody", {}, rows))];
}

function accuracyTools() {
  return el("button", { type: "button", id: "estimates-csv", onclick: exportAccuracy }, t("sup.est.export"));
}

/** Today's per-ticket rows as CSV: numbers only (queue, times, minutes), nothing of the
 * citizen. Built here from the read operation, so the permission is the operation's. */
async function exportAccuracy() {
  const a = await V.conn.request("estimate.accuracy", { rows: true });
  const cols = ["ticket", "queue", "issued_at", "told_minutes", "told_low", "told_high", "called_at", "waited_minutes"];
  const lines = [cols.join(","), ...a.rows.map((r) => cols.map((c) => String(r[c])).join(","))];
  const url = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
  const link = el("a", { href: url, download: `hallq-estimates-${a.day}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// -- the audit log: filtered, shown, exported ------------------------------------------

function auditArgs() {
  const args = {};
  for (const [id, key] of [["audit-period", "period"], ["audit-actor", "actor"], ["audit-ticket", "ticket"], ["audit-case", "case"]]) {
    const v = $(id).value.trim();
    if (v) args[key] = v;
  }
  return args;
}

function auditTools() {
  const input = (id, label, width) => el("input", { id, placeholder: t(label), "aria-label": t(label), style: `width:${width}` });
  return el("span", { class: "row", style: "flex-wrap:wrap;gap:.5rem;align-items:center" },
    input("audit-period", "sup.audit.period", "11rem"), input("audit-actor", "sup.audit.actor", "8rem"),
    input("audit-ticket", "sup.audit.ticket", "6rem"), input("audit-case", "sup.audit.case", "9rem"),
    el("button", { type: "button", id: "audit-show", class: "small", onclick: loadAudit }, t("sup.audit.show")),
    el("button", { type: "button", id: "audit-csv", class: "small", onclick: () => download("csv", "audit.list", auditArgs()) }, t("sup.report.csv")));
}

async function loadAudit() {
  V.auditMsg = "";
  try {
    V.audit = (await V.conn.request("audit.list", { ...auditArgs(), limit: 200 })).entries;
  } catch (e) {
    V.audit = [];
    V.auditMsg = errorText(e);
  }
  render();
}

function renderAudit() {
  const msg = el("p", { class: "msg", id: "audit-msg", role: "alert", text: V.auditMsg || "" });
  if (!V.audit) return [msg];
  const locale = lang() === "zh" ? "zh-CN" : "en-GB";
  const rows = V.audit.map((a) => el("tr", { "data-op": a.op },
    el("td", { text: new Date(a.at).toLocaleString(locale) }), el("td", { text: `${a.actor} (${a.role})` }),
    el("td", { text: a.op }), el("td", { text: a.window ?? "" }), el("td", { text: a.ticket || "" }),
    el("td", { text: a.detail ? JSON.stringify(a.detail) : "" })));
  return [msg, el("table", { class: "report", id: "audit" }, el("tbody", {}, rows))];
}

// -- today's figures, reports, talk reminders (issue 11) ---------------------------------

/** The day's figures from the server (report.today): after figures-moving events, at
 * most every 3 s, and every 30 s anyway (waits grow while nobody moves). */
async function loadToday() {
  if (!V.conn?.online || !may("report.today")) return;
  try {
    V.today = await V.conn.request("report.today");
    V.todayNode = null;
    render();
  } catch (e) {
    console.warn("today's figures unavailable", e);
  }
}

function loadTodaySoon() {
  if (V.todayTimer) return;
  V.todayTimer = setTimeout(() => { V.todayTimer = null; loadToday(); }, 3000);
}

function pct(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`;
}

function svgImage(svg, alt, id) {
  return el("img", { id, alt, class: "chart", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
}

function renderToday() {
  const d = V.today;
  if (!d) return [el("p", { class: "muted", text: "…" })];
  if (V.todayNode && V.todayNode.dataset.lang === lang()) return [V.todayNode];
  const cell = (id, label, value, sub) => el("div", { class: "fig", id },
    el("b", { text: value }), el("span", { text: label }), sub ? el("small", { class: "muted", text: sub }) : null);
  const dur = (s) => (s === null ? "–" : formatDuration(s));
  V.todayNode = el("div", { "data-lang": lang() },
    el("div", { class: "figs", id: "today-figures" },
      cell("today-issued", t("sup.today.issued"), String(d.issued)),
      cell("today-waiting", t("sup.today.waiting"), String(d.waiting)),
      cell("today-served", t("sup.today.served"), String(d.served)),
      cell("today-wait-mean", t("sup.today.wait_mean"), dur(d.wait_mean_s)),
      cell("today-wait-p90", t("sup.today.wait_p90"), dur(d.wait_p90_s)),
      cell("today-satisfaction", t("sup.today.satisfaction"), pct(d.satisfaction),
        t("sup.today.rated", { n: d.rated, m: d.not_rated })),
      cell("today-red", t("sup.today.red"), String(d.red_cases + d.red_casefiles)),
      d.open_rectifications === null ? null : cell("today-rectify", t("sup.today.rectify"), String(d.open_rectifications))),
    el("div", { class: "charts" },
      el("figure", {}, svgImage(d.charts.issued_by_hour, t("sup.today.by_hour"), "chart-hours"),
        el("figcaption", { text: t("sup.today.by_hour") })),
      el("figure", {}, svgImage(d.charts.satisfaction_by_window, t("sup.today.by_window"), "chart-windows"),
        el("figcaption", { text: t("sup.today.by_window") }))));
  return [V.todayNode];
}

async function loadReminders() {
  if (!V.conn?.online || !may("reminder.list")) return;
  try {
    V.reminders = await V.conn.request("reminder.list", { state: "open" });
    render();
  } catch (e) {
    console.warn("talk reminders unavailable", e);
  }
}

function renderReminders() {
  const { reminders, accountability } = V.reminders;
  if (!reminders.length && !accountability.length) return [el("p", { class: "muted", text: t("sup.rem.none") })];
  const dept = (id) => name(V.info?.departments.find((x) => x.id === id)?.name) || id || "–";
  return [el("ul", { class: "alerts", id: "reminders" },
    accountability.map((a) => el("li", { "data-kind": "accountability", "data-id": String(a.id) },
      t("sup.rem.account", { kind: t(`sup.kind.${a.subject_kind}`), subject: a.subject, n: a.reminders, from: a.from, to: a.to }))),
    reminders.map((r) => el("li", { "data-kind": "reminder", "data-id": String(r.id) },
      t("sup.rem.item", {
        period: r.period, kind: t(`sup.kind.${r.subject_kind}`), subject: r.subject, rate: pct(r.rate),
        satisfied: r.satisfied, rated: r.rated, department: dept(r.department),
      }))))];
}

function reportTools() {
  const month = new Date().toISOString().slice(0, 7);
  return el("span", { class: "row", style: "flex-wrap:wrap;gap:.5rem;align-items:center" },
    el("input", { id: "report-period", value: month, "aria-label": t("sup.report.period"), title: t("sup.report.period"), style: "width:14rem" }),
    el("button", { type: "button", id: "report-csv", class: "small", onclick: () => download("csv") }, t("sup.report.csv")),
    el("button", { type: "button", id: "report-xlsx", class: "small", onclick: () => download("xlsx") }, t("sup.report.xlsx")),
    el("button", { type: "button", id: "report-print", class: "small", onclick: () => {
      window.open(`/report#period=${encodeURIComponent($("report-period").value.trim())}`, "_blank");
    } }, t("sup.report.print")));
}

function renderReports() {
  return [el("p", { class: "msg", id: "report-msg", role: "alert", text: V.reportMsg || "" })];
}

/** A file from report.get (or audit.list), handed to the browser as a download. */
async function download(format, op = "report.get", args = null) {
  V.reportMsg = "";
  V.auditMsg = "";
  try {
    const got = await V.conn.request(op, { ...(args || { period: $("report-period").value.trim() }), format });
    const bytes = Uint8Array.from(atob(got.base64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: got.content_type }));
    const a = el("a", { href: url, download: got.filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    if (op === "report.get") V.reportMsg = errorText(e);
    else V.auditMsg = errorText(e);
  }
  render();
}

/** Alerts sent by e-mail, SMS or webhook: asked again after each event that may send
 * one, and every 10 s while any is still on its way. */
async function loadDeliveries() {
  if (!V.conn?.online || !may("alert.list")) return;
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
    // The steps the server offers this token for this record: the state table and the
    // permission table together (ledger.actions), so a county token is offered none.
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
  const panels = PANELS.filter((p) => may(p.op));
  // The panels' frames (title, tools such as the area filter) are drawn once per
  // language and token, so an open drop-down survives the redraw each second; bodies
  // are redrawn.
  const frame = `${lang()} ${[...V.may].join(",")}`;
  if (box.dataset.frame !== frame) {
    box.dataset.frame = frame;
    box.replaceChildren(...panels.map((p) => el("section", { class: "card", id: `panel-${p.id}` },
      el("div", { class: "row", style: "align-items:center" }, el("h2", { text: t(p.title) }), p.tools ? p.tools() : null),
      el("div", { id: `body-${p.id}` }))));
  }
  for (const p of panels) $(`body-${p.id}`).replaceChildren(...p.render());
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
    onSession: async (session) => {
      V.may = new Set(session.may || []);
      sessionStorage.setItem(TOKEN_KEY, token);
      if (!V.info) V.info = await conn.request("hall.info");
      setLevels(V.info);
      loadLedger();
      loadDeliveries();
      loadCaseLights();
      loadAccuracy();
      loadToday();
      loadReminders();
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
  setInterval(loadToday, 30_000);
  // A wall screen can be set up with /supervisor#token=...; the token leaves the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname + location.search);
  const token = fromHash || sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
}

setup();
