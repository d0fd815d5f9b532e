// The back office (/office): a department's open case files, red first, and the
// actions of the signed-in role on each.
//
// Which buttons a row shows comes from the server (each case's `actions`: the state
// table and the permission table together), so the page holds neither rule. The list
// is asked again on every case-file event of the department; lights move on the
// server's clock, not the browser's.

import { HallConnection, State } from "./hallq.js";
import { t, lang, setLang, applyI18n, errorText, name } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const NEEDS_TEXT = { suspend: "materials", refuse: "reason", extend: "reason" };
const O = { conn: null, info: null, dept: null, cases: [], counts: {}, role: null, reminders: [] };

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
      await load();
      await loadReminders();
    },
    onSnapshot: () => load(),
    onEvent: (kind) => {
      if (kind.startsWith("casefile.")) load();
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
