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
  },
  en: {
    title: "County halls", token: "County token", signin: "Sign in", refused: "token refused",
    hall: "Hall", waiting: "Waiting", longest: "Longest wait", windows: "Open windows",
    red: "Red cases", ledger: "Red ledger", satisfaction: "Satisfied today", open: "Open hall",
    unreadable: "cannot be read", online: "online", offline: "offline", lang: "中文",
  },
};
let lang = localStorage.getItem("hallq.lang") === "en" ? "en" : "zh";
const t = (key) => TEXT[lang][key];
let token = null;
let last = null;

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
    $("signin-msg").textContent = t("refused");
    return;
  }
  last = await reply.json();
  $("conn").dataset.state = "open";
  $("conn").textContent = t("online");
  $("signin").hidden = true;
  $("halls-card").hidden = false;
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
