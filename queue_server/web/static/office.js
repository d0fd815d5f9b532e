// The back office (/office): a department's open case files, red first, and the
// actions of the signed-in role on each.
//
// Which buttons a row shows comes from the server (each case's `actions`: the state
// table and the permission table together), so the page holds neither rule. The list
// is asked again on every case-file event of the department; lights move on the
// server's clock, not the browser's.

import { HallConnection, State } from "./hallq.js";
import { t, lang, setLevels, setLang, applyI18n, errorText, name } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const NEEDS_TEXT = { suspend: "materials", refuse: "reason", extend: "reason" };
const O = { conn: null, info: null, dept: null, cases: [], counts: {}, role: null, reminders: [], ledger: [], phones: {} };

function say(text, kind = "") {
  $("msg").textContent = text;
  $("msg").dataset.kind = kind;
}

async function load() {
  if (!O.conn?.online) return;
  try {
    const r = await O.conn.request("casefile.list");
    O.cases = r.cases;
    O.counts = r.counts;
    O.dept = r.department;
    render();
  } catch (e) {
    say(errorText(e), "error");
  }
  try {
    O.ledger = (await O.conn.request("ledger.list")).records;
    $("ledger-card").hidden = false;
  } catch (e) {
    // A role without the ledger (the approver, A) does not see it at all.
    O.ledger = [];
    $("ledger-card").hidden = e?.code === "forbidden";
  }
  renderLedger();
}

function serviceName(id) {
  const sv = (O.info?.services || []).find((s) => s.id === id);
  return sv ? name(sv.name) : id;
}

function render() {
  const body = $("cases").querySelector("tbody");
  body.replaceChildren();
  for (const c of O.cases) {
    const tr = document.createElement("tr");
    tr.dataset.number = c.number;
    tr.dataset.light = c.light || "none";
    tr.dataset.state = c.state;
    const cells = [
      t(`light.${c.light || "none"}`),
      c.number,
      serviceName(c.service),
      t(`cstate.${c.state}`),
      c.due_on || "—",
      c.days_left === null || c.days_left === undefined ? "—" : String(c.days_left),
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    for (const op of c.actions || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.op = op;
      b.textContent = t(`cact.${op}`);
      b.addEventListener("click", () => act(c.number, op));
      td.append(b);
    }
    tr.append(td);
    body.append(tr);
  }
  $("no-cases").hidden = O.cases.length > 0;
  $("counts").textContent = t("office.counts", {
    red: O.counts.red || 0, yellow: O.counts.yellow || 0, green: O.counts.green || 0,
  });
  const dept = (O.info?.departments || []).find((d) => d.id === O.dept);
  $("list-title").textContent = dept ? name(dept.name) : O.dept || "";
  renderLedger();
}

/** The ledger: one line per open record, a button per step and outcome it may take now.
 * The full call-back number is fetched only on request (audited) and kept only while
 * the page shows that record. */
function renderLedger() {
  const ul = $("ledger");
  ul.replaceChildren();
  for (const r of O.ledger) {
    const li = document.createElement("li");
    li.dataset.id = String(r.id);
    li.dataset.state = r.state;
    li.dataset.light = r.light || "none";
    li.append(t("sup.led.item", {
      id: r.id, window: r.window ?? "-", meaning: t(`level.${r.level}`),
      state: t(`sup.led.state.${r.state}`), due: r.due || "-",
    }));
    if (r.light === "red") li.append(` ${t("sup.led.overdue")}`);
    if (r.phone) {
      const full = O.phones[r.id];
      const span = document.createElement("span");
      span.className = "phone";
      span.textContent = ` · ${full || r.phone}`;
      li.append(span);
      if (!full && ["verified", "contacted", "rectified"].includes(r.state)) {
        li.append(button("phone", t("office.led.call"), () => showPhone(r.id)));
      }
    }
    for (const op of r.actions || []) {
      for (const outcome of r.outcomes?.[op] || []) {
        const label = `${t(`sup.led.op.${op}`)}: ${t(`sup.led.out.${outcome}`)}`;
        const b = button(op, label, () => step(r.id, op, outcome));
        b.dataset.outcome = outcome;
        li.append(b);
      }
    }
    ul.append(li);
  }
  $("no-ledger").hidden = O.ledger.length > 0;
  for (const id of Object.keys(O.phones)) {  // a closed record's number is forgotten here too
    if (!O.ledger.some((r) => String(r.id) === id && r.phone)) delete O.phones[id];
  }
}

function button(op, text, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.op = op;
  b.textContent = text;
  b.addEventListener("click", onclick);
  return b;
}

async function showPhone(id) {
  try {
    O.phones[id] = (await O.conn.request("ledger.phone", { id })).phone;
    renderLedger();
  } catch (e) {
    say(errorText(e), "error");
  }
}

async function step(id, op, outcome) {
  const args = { id, outcome };
  const text = $("act-text").value.trim();
  if (text) args.note = text;
  try {
    await O.conn.request(`ledger.${op}`, args, { whenOffline: "refuse" });
    say(t("office.led.done", { id, op: t(`sup.led.op.${op}`) }), "ok");
    $("act-text").value = "";
    await load();
  } catch (e) {
    say(errorText(e), "error");
    $("act-text").focus();
  }
}

async function act(number, op) {
  const args = { number };
  const text = $("act-text").value.trim();
  if (NEEDS_TEXT[op]) {
    if (!text) {
      say(t(`office.need.${NEEDS_TEXT[op]}`), "error");
      $("act-text").focus();
      return;
    }
    args[NEEDS_TEXT[op]] = text;
  } else if (op === "decide" && text) {
    args.note = text;
  }
  if (op === "extend") args.days = Number($("act-days").value || 0);
  try {
    await O.conn.request(`casefile.${op}`, args, { whenOffline: "refuse" });
    say(t("office.done", { number, op: t(`cact.${op}`) }), "ok");
    $("act-text").value = "";
    await load();
  } catch (e) {
    say(errorText(e), "error");
  }
}

// -- talk reminders (the head's; docs/reports.md) ------------------------------------

async function loadReminders() {
  if (O.role !== "head" || !O.conn?.online) return;
  try {
    O.reminders = (await O.conn.request("reminder.list", { state: "open" })).reminders;
    renderReminders();
  } catch (e) {
    $("rem-msg").textContent = errorText(e);
  }
}

function renderReminders() {
  $("reminders-card").hidden = O.role !== "head";
  const list = $("reminders");
  list.replaceChildren();
  for (const r of O.reminders) {
    const li = document.createElement("li");
    li.dataset.id = String(r.id);
    li.textContent = t("sup.rem.item", {
      period: r.period, kind: t(`sup.kind.${r.subject_kind}`), subject: r.subject,
      rate: `${(r.rate * 100).toFixed(1)}%`, satisfied: r.satisfied, rated: r.rated,
      department: r.department || "—",
    }) + " ";
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = t("office.rem.sign");
    b.addEventListener("click", () => signOff(r.id));
    li.append(b);
    list.append(li);
  }
  $("no-reminders").hidden = O.reminders.length > 0;
}

async function signOff(id) {
  const note = $("rem-note").value.trim();
  if (!note) {
    $("rem-msg").textContent = t("office.rem.need");
    $("rem-note").focus();
    return;
  }
  try {
    await O.conn.request("reminder.done", { id, note }, { whenOffline: "refuse" });
    $("rem-note").value = "";
    $("rem-msg").textContent = t("office.rem.done");
    await loadReminders();
  } catch (e) {
    $("rem-msg").textContent = errorText(e);
  }
}

function signIn(ev) {
  ev.preventDefault();
  const hello = {
    clerk: $("staff-id").value.trim(),
    pin: $("staff-pin").value,
    role: $("staff-role").value,
  };
  $("staff-pin").value = "";
  O.conn?.close();
  O.conn = new HallConnection({
    hello,
    name: `office-${hello.clerk}`,
    onSession: async (session) => {
      $("who").textContent = `${session.device} · ${t(`role.${session.role}`)}`;
      O.role = session.role;
      $("signin").hidden = true;
      $("office").hidden = false;
      O.info = await O.conn.request("hall.info");
      setLevels(O.info);
      await load();
      await loadReminders();
    },
    onSnapshot: () => load(),
    onEvent: (kind) => {
      if (kind.startsWith("casefile.") || kind.startsWith("ledger.")) load();
      if (kind === "reminder.raised" || kind === "reminder.done") loadReminders();
    },
    onState: (state, detail) => {
      $("conn").dataset.state = state;
      $("conn").textContent = t(`conn.${state}`);
      if (state === State.REFUSED) {
        $("signin-msg").textContent = errorText(detail);
        $("signin").hidden = false;
        $("office").hidden = true;
      }
    },
  }).start();
}

function init() {
  applyI18n();
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    applyI18n();
    render();
    renderReminders();
  });
  $("signin").addEventListener("submit", signIn);
}

init();
