// The printable period report (/report#period=2026-11): the supervisor's token (kept by
// /supervisor for this browser tab), report.get as JSON, drawn as tables to print.

import { HallConnection, State, el } from "./hallq.js";
import { t, lang, setLang, applyI18n, errorText, name } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hallq.supervisor.token";
const GROUPS = [["department", "sup.kind.department"], ["window", "sup.kind.window"], ["clerk", "sup.kind.clerk"], ["service", "sup.kind.service"]];
// The columns a printed page has room for (the XLSX has them all).
const COLS = [
  ["cases", "叫号办件", "Cases"], ["served", "办结", "Served"], ["no_shows", "过号", "No-shows"],
  ["wait_median_s", "等候中位(分)", "Median wait (min)"], ["wait_p90_s", "等候P90(分)", "P90 wait (min)"],
  ["service_median_s", "办理中位(分)", "Median service (min)"], ["rated", "评价", "Rated"],
  ["satisfaction", "满意率", "Satisfied"], ["on_time_rate", "按时办结率", "On time"], ["early_rate", "提前办结率", "Early"],
];
const RATES = new Set(["satisfaction", "on_time_rate", "early_rate"]);
let conn = null;
let report = null;

function cell(key, v) {
  if (v === null || v === undefined) return "–";
  if (RATES.has(key)) return `${(v * 100).toFixed(1)}%`;
  if (key.endsWith("_s")) return (v / 60).toFixed(1);
  return String(v);
}

function draw() {
  if (!report) return;
  const zh = lang() === "zh";
  const h = report.headline;
  const head = [
    ["served", "办结件数", "Cases served"], ["wait_median_s", "等候中位(分)", "Median wait (min)"],
    ["on_time_rate", "按时办结率", "On-time rate"], ["early_rate", "提前办结率", "Early rate"],
    ["satisfaction", "满意率", "Satisfaction"], ["rated", "评价数", "Rated"], ["not_rated", "未评价", "Not rated"],
  ];
  const table = (rows, cols) => el("table", { class: "report" },
    el("thead", {}, el("tr", {}, cols.map((c) => el("th", { text: c })))), el("tbody", {}, rows));
  $("report").replaceChildren(
    el("h1", { text: `${name(report.hall)} ${t("rep.title")}` }),
    el("p", { id: "rep-period", text: t("rep.period", { from: report.from, to: report.to }) }),
    el("section", { class: "card", id: "rep-headline" }, el("h2", { text: t("rep.headline") }),
      el("div", { class: "figs" }, head.map(([k, zhT, enT]) => el("div", { class: "fig", "data-key": k },
        el("b", { text: cell(k, h[k]) }), el("span", { text: zh ? zhT : enT }))),
        el("div", { class: "fig", "data-key": "complaints_upheld" },
          el("b", { text: h.complaints_upheld === null ? "–" : String(h.complaints_upheld) }),
          el("span", { text: zh ? "有责投诉" : "Complaints upheld" })))),
    ...GROUPS.map(([g, title]) => el("section", { class: "card", id: `rep-${g}` }, el("h2", { text: t(title) }),
      table(report.tables[g].map((r) => el("tr", { "data-key": String(r.key) },
        el("td", { text: `${r.key} ${r.name}` }), COLS.map(([k]) => el("td", { class: "num", text: cell(k, r[k]) })))),
      ["", ...COLS.map(([, zhT, enT]) => (zh ? zhT : enT))]))),
    el("p", { class: "muted", text: t("rep.made", { at: new Date(report.made_at).toLocaleString(zh ? "zh-CN" : "en-GB") }) }));
}

async function show() {
  $("msg").textContent = "";
  const period = $("period").value.trim();
  history.replaceState(null, "", `${location.pathname}#period=${encodeURIComponent(period)}`);
  try {
    report = await conn.request("report.get", { period });
    draw();
  } catch (e) {
    report = null;
    $("report").replaceChildren();
    $("msg").textContent = errorText(e);
  }
}

function start(token) {
  conn = new HallConnection({
    hello: { token },
    name: "report-page",
    onState: (state, detail) => {
      if (state === State.REFUSED) {
        conn.close();
        sessionStorage.removeItem(TOKEN_KEY);
        $("signin").hidden = false;
        $("msg").textContent = errorText(detail);
      }
    },
    onSession: () => {
      sessionStorage.setItem(TOKEN_KEY, token);
      $("signin").hidden = true;
      show();
    },
    subscribe: false,
  });
  conn.start();
}

function setup() {
  setLang(lang(), false);
  applyI18n();
  const params = new URLSearchParams(location.hash.slice(1));
  $("period").value = params.get("period") || new Date().toISOString().slice(0, 7);
  $("show").addEventListener("click", show);
  $("print").addEventListener("click", () => window.print());
  $("lang").addEventListener("click", () => { setLang(lang() === "zh" ? "en" : "zh"); applyI18n(); draw(); });
  $("signin").addEventListener("submit", (ev) => { ev.preventDefault(); start($("token").value.trim()); });
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) start(token);
  else $("signin").hidden = false;
}

setup();
