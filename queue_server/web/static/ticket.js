// The citizen's phone page (/t/<token>), opened from the QR code on the ticket.
//
// The token in the address is the only credential: the server lets it see its own
// ticket and its queue's figures, nothing else. The page follows the ticket live
// (no reload), says prominently when it is called or nearly so, and offers the rating
// once after the case if the window's device did not get one.

import { HallConnection, State, el } from "./hallq.js";
import { t, lang, setLevels, setLang, langChosen, applyI18n, errorText, name, LANGS } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.replace(/^\/t\//, ""));
const ratedKey = `hallq.rated.${token}`;
// "Almost your turn" when the estimate (minutes until a window calls, the hall's call
// order played forward) is at most this many minutes: people ahead alone said nothing
// of windows that serve other queues, priority tickets to come or a break.
const NEAR_CHOICES = [3, 5, 10, 15, 20];
const NEAR_DEFAULT = 10;

const T = {
  status: null, // ticket.status result, kept current by events
  info: null,
  ratedHere: storageGet(ratedKey) === "1",
  pendingLevel: null, // a bad level picked: the reasons and call-back form is open
  rating: false, // a rating request is on its way
  lastAlert: "", // what was last announced, so a redraw does not vibrate again
  near: parseInt(new URLSearchParams(location.search).get("near") || storageGet("hallq.near-minutes") || String(NEAR_DEFAULT), 10) || NEAR_DEFAULT,
};

function storageGet(k) {
  try {
    return localStorage.getItem(k);
  } catch (e) {
    return null;
  }
}

function storageSet(k, v) {
  try {
    localStorage.setItem(k, v);
  } catch (e) {
    /* private mode: the page still works, it just forgets */
  }
}

// -- sound and vibration ---------------------------------------------------------------

let audio = null;
// Browsers allow sound only after the person touched the page: unlock it on the first touch.
document.addEventListener("pointerdown", () => {
  try {
    audio = audio || new AudioContext();
    audio.resume();
  } catch (e) {
    audio = null;
  }
}, { once: true });

function beep() {
  try {
    if (!audio || audio.state !== "running") return;
    for (const start of [0, 0.45]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + start);
      osc.stop(audio.currentTime + start + 0.3);
    }
  } catch (e) {
    /* no sound on this device: the page is still prominent */
  }
}

function alertOnce(what, pattern) {
  if (T.lastAlert === what) return;
  T.lastAlert = what;
  if (navigator.vibrate) {
    try {
      navigator.vibrate(pattern);
    } catch (e) {
      /* not allowed before a touch */
    }
  }
  beep();
}

// -- connection ------------------------------------------------------------------------

const conn = new HallConnection({
  hello: { ticket: token },
  name: "phone",
  onState: (state) => {
    $("conn").dataset.state = state;
    $("conn").textContent = t(`conn.${state}`);
    if (state === State.REFUSED) {
      // Unknown, expired or mistyped token: show nothing but the notice.
      conn.close();
      $("ticket").hidden = true;
      $("invalid").hidden = false;
      $("conn").dataset.state = State.REFUSED;
      $("conn").textContent = t("conn.refused");
    }
  },
  onSession: async () => {
    if (!T.info) {
      T.info = await conn.request("hall.info");
      setLevels(T.info);
      render();
    }
  },
  onSnapshot: (snap) => {
    setStatus(snap.ticket);
  },
  onEvent: (kind, data) => {
    if (!T.status) return;
    if (kind.startsWith("ticket.")) {
      T.status = { ...T.status, ...data };
      refreshSoon();
    } else if (kind === "queue.stats") {
      refreshSoon(); // someone ahead was called: people ahead and the estimate change
    } else if (kind === "rating.requested") {
      T.status.rating_state = "pending";
    } else if (kind === "rating.recorded") {
      T.status.rating_state = "rated";
      T.status.rating_source = data.source;
    } else if (kind === "rating.not_rated") {
      T.status.rating_state = "not_rated";
    }
    render();
  },
});

function setStatus(status) {
  const first = !T.status;
  T.status = { ...(T.status || {}), ...status };
  // The citizen chose a language at the kiosk: use it, unless they chose here.
  if (first && !langChosen() && LANGS.includes(status.language)) {
    setLang(status.language, false);
    applyI18n();
    buildNear();
  }
  render();
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      setStatus(await conn.request("ticket.status", { token }));
    } catch (e) {
      /* the next event or reconnect tries again */
    }
  }, 150);
}

/** A level button: a good level is sent at once; one of the two lowest first asks
 * why (reasons, a comment) and offers a call-back with an explicit consent line. */
function pick(level) {
  if ((T.info?.rating_followup_levels || []).includes(level)) {
    T.pendingLevel = level;
    render();
    return;
  }
  rate(level);
}

async function sendMore(ev) {
  ev.preventDefault();
  const extras = {
    reasons: [...document.querySelectorAll("#reasons input:checked")].map((i) => i.value),
  };
  const text = $("rate-text").value.trim();
  if (text) extras.text = text;
  const phone = $("rate-phone").value.trim();
  if (phone) {
    extras.phone = phone;
    extras.consent = $("rate-consent").checked;
  }
  await rate(T.pendingLevel, extras);
}

async function rate(level, extras = {}) {
  if (T.rating) return;
  T.rating = true;
  render();
  const msg = $("rate-msg");
  try {
    await conn.request("rating.submit", { level, ...extras });
    T.pendingLevel = null;
    T.ratedHere = true;
    storageSet(ratedKey, "1");
    T.status.rating_state = "rated";
    T.status.rating_source = "phone";
    msg.textContent = t("ticket.rate.thanks");
    msg.className = "msg info";
  } catch (e) {
    msg.textContent = errorText(e);
    msg.className = "msg error";
    refreshSoon();
  } finally {
    T.rating = false;
    render();
  }
}

// -- drawing ---------------------------------------------------------------------------

function render() {
  const s = T.status;
  if (!s) return;
  $("ticket").hidden = false;
  $("number").textContent = s.label;
  const sv = T.info?.services.find((x) => x.id === s.service);
  $("service").textContent = sv ? name(sv.name) : "";
  // Where to go: computed by the server with the one rule the kiosk's screen and
  // paper use (queue_server/core/where.py), in each of the hall's languages.
  $("where").textContent = sv ? name(sv.where) : "";
  $("check").textContent = s.check ? t("ticket.check", { check: s.check }) : "";
  const st = $("status");
  st.dataset.status = s.status;
  st.textContent = t(`ticket.status.${s.status}`, { window: s.window ?? "" });
  document.title = `${s.label} · ${t(`tstatus.${s.status}`)}`;

  const waiting = s.status === "waiting";
  $("stats").hidden = !waiting;
  $("ahead").textContent = t("ticket.ahead.n", { n: s.people_ahead ?? "–" });
  // The central figure with its 80 % range ("about 12 min (8-20)"), as the estimate
  // gives it; one figure when the range is a point.
  const lo = s.est_wait_low, hi = s.est_wait_high;
  $("wait").textContent = !s.est_wait_minutes ? t("ticket.wait.soon")
    : (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)
      ? t("ticket.wait.range", { n: s.est_wait_minutes, lo, hi })
      : t("ticket.wait.n", { n: s.est_wait_minutes });

  const turn = $("turn");
  turn.hidden = s.status !== "called";
  if (s.status === "called") {
    turn.replaceChildren(el("div", { text: t("ticket.turn") }), el("div", { text: t("ticket.turn.window", { window: s.window }) }));
    document.title = `▶ ${t("ticket.turn.window", { window: s.window })}`;
    alertOnce(`called:${s.window}:${s.recalls}`, [300, 150, 300, 150, 600]);
  }
  const near = $("near");
  const isNear = waiting && Number.isFinite(s.est_wait_minutes) && s.est_wait_minutes <= T.near;
  near.hidden = !isNear;
  if (isNear) {
    near.textContent = s.est_wait_minutes > 0 ? t("ticket.almost", { n: s.est_wait_minutes }) : t("ticket.almost.now");
    alertOnce(`near:${T.near}`, [200, 100, 200]);
  }
  $("noshow-help").hidden = s.status !== "no_show";
  const cf = s.casefile;
  $("casefile").hidden = !cf;
  if (cf) {
    $("case-number").textContent = cf.number;
    $("case-due").textContent = cf.due_on || t("ticket.case.nodue");
    $("case-state").textContent = t(`ticket.case.${cf.state}`, {}) || "";
    $("casefile").dataset.state = cf.state;
  }

  // The rating: offered once, after the case, if nobody rated it yet.
  const offer = s.status === "done" && s.rating_state === "pending" && !T.ratedHere;
  $("rate").hidden = !offer;
  if (offer) {
    const scale = T.info?.rating_scale || 5;
    const levels = scale === 4 ? [5, 4, 3, 2] : [5, 4, 3, 2, 1];
    $("levels").replaceChildren(...levels.map((lv) => el("button", {
      type: "button", "data-level": String(lv), disabled: T.rating, onclick: () => pick(lv),
      class: T.pendingLevel === lv ? "chosen" : "",
    }, t(`level.${lv}`))));
    const more = $("rate-more");
    const asking = T.pendingLevel != null;
    if (asking && more.hidden) {
      $("reasons").replaceChildren(...(T.info?.rating_reasons || []).map((r) => el("label", { class: "reason" },
        el("input", { type: "checkbox", value: r.id }), ` ${name(r.name)}`)));
    }
    more.hidden = !asking;
    $("rate-send").disabled = T.rating;
  }
  const msg = $("rate-msg");
  if (s.status === "done" && !offer && !msg.textContent) {
    if (s.rating_state === "rated") {
      msg.textContent = T.ratedHere ? t("ticket.rate.thanks")
        : s.rating_source === "device" ? t("ticket.rate.device") : t("ticket.rate.done");
    } else if (s.rating_state === "not_rated") {
      msg.textContent = t("ticket.rate.closed");
    }
    msg.className = "msg info";
  }
}

function buildNear() {
  const sel = $("near-select");
  const choices = NEAR_CHOICES.includes(T.near) ? NEAR_CHOICES : [...NEAR_CHOICES, T.near].sort((a, b) => a - b);
  sel.replaceChildren(...choices.map((n) => el("option", { value: String(n), selected: n === T.near }, String(n))));
}

function setup() {
  setLang(lang(), false);
  applyI18n();
  buildNear();
  $("near-select").addEventListener("change", (ev) => {
    T.near = parseInt(ev.target.value, 10);
    storageSet("hallq.near-minutes", String(T.near));
    render();
  });
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    applyI18n();
    $("conn").textContent = t(`conn.${conn.state}`);
    $("rate-msg").textContent = "";
    render();
  });
  $("conn").textContent = t("conn.connecting");
  if (!token || !/^[A-Za-z0-9_.-]+$/.test(token)) {
    $("invalid").hidden = false;
    return;
  }
  conn.start();
  // For tests and support staff: the page's own connection and rating action.
  globalThis.hallq = { conn, rate };
  $("rate-more").addEventListener("submit", sendMore);
}

setup();
