// The county leader's page (/county on the county port): every hall's live figures side
// by side, refreshed every few seconds, and a link into each hall's /supervisor, where
// the same county token signs in to the supervisor's read-only view of that hall.

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hallq.county.token";
const REFRESH_MS = 5000;

const TEXT = {
  zh: {
    title: "全县大厅", token: "县级令牌", signin: "登录", refused: "令牌无效",
    hall: "大厅", waiting: "等候人数", longest: "最长等候", windows: "开放窗口",
    red: "红灯件", ledger: "红灯整改", satisfaction: "今日满意率", open: "进入大厅",
    unreadable: "无法读取", online: "在线", offline: "离线", lang: "English",
    report: "各大厅统计报表", period: "统计期间", show: "查看", total: "全县合计",
    served: "办结件数", cases: "叫号办件", no_shows: "过号", wait_median: "等候中位数",
    rated: "评价数", sat: "满意率", on_time: "按时办结率", complaints: "有责投诉",
    not_combined: "等候中位数按大厅分列，不跨大厅合计。", halls_n: "个大厅",
  },
  en: {
    title: "County halls", token: "County token", signin: "Sign in", refused: "token refused",
    hall: "Hall", waiting: "Waiting", longest: "Longest wait", windows: "Open windows",
    red: "Red cases", ledger: "Red ledger", satisfaction: "Satisfied today", open: "Open hall",
    unreadable: "cannot be read", online: "online", offline: "offline", lang: "中文",
    report: "Halls' period report", period: "Period", show: "Show", total: "County",
    served: "Served", cases: "Called", no_shows: "No-shows", wait_median: "Median wait",
    rated: "Rated", sat: "Satisfied", on_time: "On time", complaints: "Complaints upheld",
    not_combined: "Median waits are per hall: they are not combined across halls.",
    halls_n: "halls",
  },
};
let lang = localStorage.getItem("hallq.lang") === "en" ? "en" : "zh";
const t = (key) => TEXT[lang][key];
let token = null;
let last = null;
let report = null; // the county report shown (GET /county/report)
const REPORT_COLS = [
  // [key in the report, text key, how shown]
  ["served", "served", "n"], ["cases", "cases", "n"], ["no_shows", "no_shows", "n"],
  ["wait_median_s", "wait_median", "min"], ["rated", "rated", "n"],
  ["satisfaction", "sat", "pct"], ["on_time_rate", "on_time", "pct"],
  ["complaints_upheld", "complaints", "n"],
];

function shown(value, how) {
  if (value === null || value === undefined) return "–";
  if (how === "pct") return `${(value * 100).toFixed(1)}%`;
  if (how === "min") return minutes(value);
  return String(value);
}

function minutes(s) {
  if (!s) return "0:00";
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function hallLink(h) {
  // The hall's own server; the token travels in the fragment, never to a server log.
  // The county file's [county.links] (a reverse proxy's address), else this host.
  const base = h.link || `${location.protocol}//${location.hostname}:${h.port}`;
  return `${base.replace(/\/$/, "")}/supervisor#token=${encodeURIComponent(token)}`;
}

function draw() {
  $("title").textContent = t("title");
  $("token-label").textContent = t("token");
  $("signin-button").textContent = t("signin");
  $("lang").textContent = t("lang");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  const head = $("head");
  head.replaceChildren(
    ...["hall", "waiting", "longest", "windows", "red", "ledger", "satisfaction", ""].map((k) => {
      const th = document.createElement("th");
      th.textContent = k ? t(k) : "";
      return th;
    }),
  );
  $("report-title").textContent = t("report");
  $("period-label").textContent = t("period");
  $("report-show").textContent = t("show");
  drawReport();
  if (!last) return;
  $("county").textContent = last.county;
  const body = $("halls").tBodies[0];
  body.replaceChildren(
    ...last.halls.map((h) => {
      const tr = document.createElement("tr");
      tr.dataset.hall = h.hall;
      tr.append(cell(h.name[lang] || h.name.zh || h.hall, "name"));
      if (h.error) {
        const td = cell(t("unreadable"), "error");
        td.colSpan = 6;
        tr.append(td);
      } else {
        tr.append(
          cell(String(h.waiting), "waiting"),
          cell(minutes(h.longest_wait_s), "longest"),
          cell(`${h.open_windows}/${h.windows}`, "windows"),
          cell(String(h.red_cases), h.red_cases ? "red bad" : "red"),
          cell(String(h.red_ledger), h.red_ledger ? "ledger bad" : "ledger"),
          cell(h.satisfaction_pct === null ? "–" : `${h.satisfaction_pct}%`, "satisfaction"),
        );
      }
      const a = document.createElement("a");
      a.href = hallLink(h);
      a.textContent = t("open");
      a.className = "drill";
      const td = document.createElement("td");
      td.append(a);
      tr.append(td);
      return tr;
    }),
  );
}

function drawReport() {
  $("report-head").replaceChildren(
    ...["hall", ...REPORT_COLS.map((c) => c[1])].map((k) => {
      const th = document.createElement("th");
      th.textContent = t(k);
      return th;
    }),
  );
  if (!report) return;
  const row = (key, name, figures, cls) => {
    const tr = document.createElement("tr");
    tr.dataset.report = key;
    if (cls) tr.className = cls;
    tr.append(cell(name, "name"));
    if (figures.error) {
      const td = cell(t("unreadable"), "error");
      td.colSpan = REPORT_COLS.length;
      tr.append(td);
    } else {
      tr.append(...REPORT_COLS.map(([k, , how]) => cell(shown(figures[k], how), k)));
    }
    return tr;
  };
  $("report").tBodies[0].replaceChildren(
    ...report.halls.map((h) => row(h.hall, h.name[lang] || h.name.zh || h.hall, h)),
    row("county", `${t("total")} (${report.total.halls} ${t("halls_n")})`, report.total, "total"),
  );
  $("report").hidden = false;
  $("report-note").textContent = `${report.from} – ${report.to}. ${t("not_combined")}`;
  $("report-note").hidden = false;
}

function reportQuery(format) {
  const q = new URLSearchParams();
  const period = $("period").value.trim();
  if (period) q.set("period", period);
  if (format) q.set("format", format);
  return `/county/report?${q}`;
}

async function getReport(format) {
  // The token goes in a header (never in the address), so files are fetched, then saved.
  $("report-msg").textContent = "";
  const reply = await fetch(reportQuery(format), {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!reply.ok) {
    let message = reply.statusText;
    try {
      message = (await reply.json()).message;
    } catch {
      // not JSON: keep the status text
    }
    $("report-msg").textContent = message;
    return;
  }
  if (!format) {
    report = await reply.json();
    drawReport();
    return;
  }
  const name = /filename="([^"]+)"/.exec(reply.headers.get("Content-Disposition") || "");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await reply.blob());
  a.download = name ? name[1] : `hallq-county-report.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function refresh() {
  let reply;
  try {
    reply = await fetch("/county/figures", { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    $("conn").dataset.state = "closed";
    $("conn").textContent = t("offline");
    return;
  }
  if (reply.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    $("signin").hidden = false;
    $("halls-card").hidden = true;
    $("report-card").hidden = true;
    $("signin-msg").textContent = t("refused");
    return;
  }
  last = await reply.json();
  $("conn").dataset.state = "open";
  $("conn").textContent = t("online");
  $("signin").hidden = true;
  $("halls-card").hidden = false;
  if ($("report-card").hidden) {
    $("report-card").hidden = false;
    getReport(null); // the month so far, at once
  }
  draw();
}

function signIn(value) {
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  refresh();
}

$("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  signIn($("token").value.trim());
});
$("report-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  getReport(null);
});
$("report-csv").addEventListener("click", () => getReport("csv"));
$("report-xlsx").addEventListener("click", () => getReport("xlsx"));
$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("hallq.lang", lang);
  draw();
});
draw();
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) history.replaceState(null, "", location.pathname);
const saved = fromHash || sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
setInterval(() => token && refresh(), REFRESH_MS);
