// Every string the pages show, in Chinese and English. Keys are stable; a new language is
// one more table. Names that come from the hall's config (services, queues, areas) are
// already per language and are picked with name().

const STRINGS = {
  zh: {
    "lang.switch": "English",
    "conn.connecting": "正在连接…",
    "conn.online": "已连接",
    "conn.offline": "连接中断，正在重连…",
    "conn.refused": "登录被拒绝",
    "conn.closed": "已退出",
    "conn.pending": "{n} 个操作等待重新发送",
    "common.minutes": "{n} 分钟",
    "common.none": "无",
    "common.window": "{n} 号窗口",
    "common.cancel": "取消",
    "prio.elderly": "老年人",
    "prio.disabled": "残疾人",
    "prio.pregnant": "孕妇",
    "prio.veteran": "军人",
    "prio.appointment": "预约",
    "langname.zh": "中文",
    "langname.en": "英文",
    "langname.mn": "蒙古文",
    "tstatus.waiting": "等候中",
    "tstatus.called": "已叫号",
    "tstatus.serving": "办理中",
    "tstatus.done": "已办结",
    "tstatus.no_show": "过号",
    "tstatus.cancelled": "已取消",

    "index.title": "HallQ 政务大厅排队系统",
    "index.clerk": "窗口叫号台",
    "index.clerk.desc": "工作人员用工号和密码（或窗口令牌）登录，叫号、办结、转办。",
    "index.supervisor": "大厅实时监控",
    "index.supervisor.desc": "各队列等候人数、最长等候时间，各窗口状态。",
    "index.ticket": "手机查询页面",
    "index.ticket.desc": "扫描排队小票上的二维码打开，实时显示排队进度。",

    "clerk.title": "窗口叫号台",
    "clerk.signin": "登录",
    "clerk.mode.pin": "工号 + 密码",
    "clerk.mode.token": "窗口令牌",
    "clerk.id": "工号",
    "clerk.pin": "密码",
    "clerk.window": "窗口号",
    "clerk.token": "窗口令牌",
    "clerk.token.clerk": "工号（可选）",
    "clerk.signing": "正在登录…",
    "clerk.signedin": "{clerk} · {window}",
    "clerk.status.open": "服务中",
    "clerk.status.paused": "暂停服务",
    "clerk.status.closed": "已关闭",
    "act.next": "叫下一位",
    "act.recall": "重呼",
    "act.start": "开始办理",
    "act.finish": "办结",
    "act.noshow": "过号",
    "act.transfer": "转办",
    "act.number": "叫指定号",
    "act.pause": "暂停",
    "act.resume": "恢复服务",
    "act.signout": "退出",
    "act.cancel": "取消号",
    "act.rejoin": "过号重排",
    "act.unavailable": "现在不能{action}",
    "clerk.current": "当前号码",
    "clerk.nocurrent": "当前没有号码。按“叫下一位”。",
    "clerk.service": "事项",
    "clerk.priority": "优先",
    "clerk.language": "语言",
    "clerk.waited": "已等候",
    "clerk.served": "已办理",
    "clerk.recalls": "已重呼 {n} 次",
    "clerk.materials": "所需材料",
    "clerk.promise": "时限",
    "clerk.promise.instant": "即办件，时限 {n} 分钟",
    "clerk.promise.promised": "承诺件，{days} 个工作日内办结（窗口时限 {n} 分钟）",
    "clerk.rating.pending": "请群众在评价器上评价…",
    "clerk.rating.rated": "评价：{meaning}（{source}）",
    "clerk.rating.not_rated": "评价超时：记为“未评价”",
    "clerk.called": "已叫号 {label}",
    "clerk.empty": "没有等候的号码",
    "clerk.finished": "{label} 已办结",
    "clerk.noshowed": "{label} 记为过号",
    "clerk.cancel.confirm": "再按一次“取消号”确认取消 {label}（不可撤销）",
    "clerk.cancelled": "{label} 已取消",
    "clerk.rejoined": "{label} 已按原取号时间重新排队",
    "clerk.transferred": "{label} 已转至 {to}",
    "clerk.opened": "窗口已开放",
    "clerk.paused": "窗口已暂停",
    "clerk.resumed": "窗口已恢复服务",
    "clerk.refused.offline": "未连接服务器，操作未发送，请连接恢复后再试",
    "clerk.timeout": "服务器未应答；再按一次会安全重试（不会重复办理）",
    "clerk.retrying": "连接中断：{action} 将在重连后自动重发",
    "clerk.waiting": "等候队列",
    "clerk.waiting.partial": "（服务器未提供完整列表：仅显示登录后新取的号）",
    "clerk.waiting.count": "共 {n} 人",
    "clerk.waiting.more": "还有 {n} 人…",
    "clerk.today": "今日统计",
    "clerk.today.partial": "（本次登录以来）",
    "clerk.today.served": "已办结",
    "clerk.today.avg": "平均办理",
    "clerk.today.noshows": "过号",
    "clerk.today.satisfaction": "满意率",
    "clerk.transfer.title": "转办 {label}",
    "clerk.transfer.queue": "转到队列",
    "clerk.transfer.window": "转到窗口",
    "clerk.transfer.toqueue": "转到该队列",
    "clerk.transfer.towindow": "转到该窗口",
    "clerk.number.placeholder": "如 A012",
    "clerk.shortcuts": "快捷键",
    "clerk.signout.busy": "请先办结、转办或过号当前号码再退出",

    "ticket.title": "排队进度",
    "ticket.number": "您的号码",
    "ticket.status.waiting": "等候中",
    "ticket.status.called": "请到 {window} 号窗口",
    "ticket.status.serving": "正在 {window} 号窗口办理",
    "ticket.status.done": "已办结",
    "ticket.status.no_show": "已过号",
    "ticket.status.cancelled": "已取消",
    "ticket.turn": "轮到您了！",
    "ticket.turn.window": "请到 {window} 号窗口",
    "ticket.almost": "快到您了：前面还有 {n} 人",
    "ticket.ahead": "前面等候",
    "ticket.ahead.n": "{n} 人",
    "ticket.wait": "预计等候",
    "ticket.wait.n": "约 {n} 分钟",
    "ticket.wait.soon": "马上",
    "ticket.near": "前面剩几人时提醒我",
    "ticket.noshow.help": "叫号时您不在。请到服务台咨询能否重新排队。",
    "ticket.invalid": "这张小票今天无效，或链接有误。",
    "ticket.rate.title": "请为本次服务评价",
    "ticket.rate.thanks": "感谢您的评价！",
    "ticket.rate.done": "本次服务已评价",
    "ticket.rate.device": "已在窗口评价器上评价，谢谢！",
    "ticket.rate.closed": "评价时间已过",
    "ticket.live": "本页自动更新，无需刷新",
    "level.5": "非常满意",
    "level.4": "满意",
    "level.3": "基本满意",
    "level.2": "不满意",
    "level.1": "非常不满意",
    "source.device": "评价器",
    "source.phone": "手机",
    "source.kiosk": "自助机",

    "sup.title": "大厅实时监控",
    "sup.token": "主管令牌",
    "sup.queues": "队列",
    "sup.windows": "窗口",
    "sup.alerts": "提醒",
    "sup.q.name": "队列",
    "sup.q.waiting": "等候",
    "sup.q.longest": "最长等候",
    "sup.q.open": "开放窗口",
    "sup.q.est": "预计等候",
    "sup.w.idle": "空闲",
    "sup.w.title": "{n} 号窗口",
    "sup.w.called": "已叫 {label}",
    "sup.w.serving": "办理 {label}",
    "sup.w.closed": "关闭",
    "sup.w.paused": "暂停",
    "sup.w.overdue": "超时",
    "sup.summary": "等候 {waiting} 人 · 开放 {open} · 暂停 {paused} · 关闭 {closed}",
    "sup.area.all": "全部区域",
    "sup.alert.overdue": "{window} 号窗口办理超时（时限 {n} 分钟）",
    "sup.alert.dissatisfied": "{window} 号窗口 {label}：{meaning}",
    "sup.alert.device": "设备 {device} {part}：{state}",
    "sup.alerts.none": "暂无提醒",

    "err.unauthorized": "工号或密码错误",
    "err.locked": "密码错误次数过多，请几分钟后再试",
    "err.forbidden": "无权进行此操作",
    "err.unknown_window": "没有这个窗口",
    "err.window_busy": "当前号码尚未处理完毕",
    "err.window_closed": "窗口已关闭，请先登录开放",
    "err.window_paused": "窗口已暂停，请先恢复服务",
    "err.recall_limit": "重呼次数已满，请记为过号",
    "err.no_current": "当前没有号码",
    "err.invalid_state": "这个号码当前状态不能这样操作",
    "err.unknown_ticket": "没有这个号码",
    "err.unknown_queue": "没有这个队列",
    "err.bad_request": "输入有误",
    "err.already_rated": "本次服务已评价过，不能重复评价",
    "err.rating_closed": "评价时间已过",
    "err.nothing_to_rate": "没有可评价的服务",
    "err.timeout": "服务器未应答",
    "err.offline": "未连接服务器",
    "err.internal": "服务器出错，操作未完成",
  },
  en: {
    "lang.switch": "中文",
    "conn.connecting": "Connecting…",
    "conn.online": "Connected",
    "conn.offline": "Connection lost, reconnecting…",
    "conn.refused": "Sign-in refused",
    "conn.closed": "Signed out",
    "conn.pending": "{n} action(s) waiting to be resent",
    "common.minutes": "{n} min",
    "common.none": "none",
    "common.window": "window {n}",
    "common.cancel": "Cancel",
    "prio.elderly": "elderly",
    "prio.disabled": "disabled",
    "prio.pregnant": "pregnant",
    "prio.veteran": "veteran",
    "prio.appointment": "appointment",
    "langname.zh": "Chinese",
    "langname.en": "English",
    "langname.mn": "Mongolian",
    "tstatus.waiting": "waiting",
    "tstatus.called": "called",
    "tstatus.serving": "being served",
    "tstatus.done": "finished",
    "tstatus.no_show": "no-show",
    "tstatus.cancelled": "cancelled",

    "index.title": "HallQ service hall queue",
    "index.clerk": "Clerk console",
    "index.clerk.desc": "Clerks sign in with id and PIN (or the window token), call, finish, transfer.",
    "index.supervisor": "Supervisor live view",
    "index.supervisor.desc": "Waiting counts and longest waits per queue, every window's state.",
    "index.ticket": "Phone page",
    "index.ticket.desc": "Opened from the QR code on the ticket; shows the queue live.",

    "clerk.title": "Clerk console",
    "clerk.signin": "Sign in",
    "clerk.mode.pin": "Clerk id + PIN",
    "clerk.mode.token": "Window token",
    "clerk.id": "Clerk id",
    "clerk.pin": "PIN",
    "clerk.window": "Window",
    "clerk.token": "Window token",
    "clerk.token.clerk": "Clerk id (optional)",
    "clerk.signing": "Signing in…",
    "clerk.signedin": "{clerk} · {window}",
    "clerk.status.open": "Open",
    "clerk.status.paused": "Paused",
    "clerk.status.closed": "Closed",
    "act.next": "Call next",
    "act.recall": "Recall",
    "act.start": "Start",
    "act.finish": "Finish",
    "act.noshow": "No-show",
    "act.transfer": "Transfer",
    "act.number": "Call number",
    "act.pause": "Pause",
    "act.resume": "Resume",
    "act.signout": "Sign out",
    "act.cancel": "Cancel ticket",
    "act.rejoin": "Rejoin",
    "act.unavailable": "{action} is not possible now",
    "clerk.current": "Current ticket",
    "clerk.nocurrent": "No current ticket. Press “Call next”.",
    "clerk.service": "Service",
    "clerk.priority": "Priority",
    "clerk.language": "Language",
    "clerk.waited": "Waited",
    "clerk.served": "Served for",
    "clerk.recalls": "recalled {n}×",
    "clerk.materials": "Required materials",
    "clerk.promise": "Time limit",
    "clerk.promise.instant": "Instant item, time limit {n} min",
    "clerk.promise.promised": "Promised item: done within {days} working days (window limit {n} min)",
    "clerk.rating.pending": "Waiting for the citizen's rating on the device…",
    "clerk.rating.rated": "Rated: {meaning} ({source})",
    "clerk.rating.not_rated": "Rating timed out: recorded as not rated",
    "clerk.called": "Called {label}",
    "clerk.empty": "Nobody is waiting",
    "clerk.finished": "{label} finished",
    "clerk.noshowed": "{label} marked no-show",
    "clerk.cancel.confirm": "Press Cancel ticket again to cancel {label} (cannot be undone)",
    "clerk.cancelled": "{label} cancelled",
    "clerk.rejoined": "{label} is back in the queue at its original time",
    "clerk.transferred": "{label} transferred to {to}",
    "clerk.opened": "Window open",
    "clerk.paused": "Window paused",
    "clerk.resumed": "Window resumed",
    "clerk.refused.offline": "Not connected: the action was not sent. Try again when the connection is back.",
    "clerk.timeout": "No answer from the server; pressing again retries safely (never done twice)",
    "clerk.retrying": "Connection lost: {action} will be resent when it is back",
    "clerk.waiting": "Waiting list",
    "clerk.waiting.partial": "(the server gives no full list: only tickets taken since sign-in)",
    "clerk.waiting.count": "{n} waiting",
    "clerk.waiting.more": "{n} more…",
    "clerk.today": "Today",
    "clerk.today.partial": "(since sign-in)",
    "clerk.today.served": "Served",
    "clerk.today.avg": "Avg. service",
    "clerk.today.noshows": "No-shows",
    "clerk.today.satisfaction": "Satisfaction",
    "clerk.transfer.title": "Transfer {label}",
    "clerk.transfer.queue": "To queue",
    "clerk.transfer.window": "To window",
    "clerk.transfer.toqueue": "Transfer to queue",
    "clerk.transfer.towindow": "Transfer to window",
    "clerk.number.placeholder": "e.g. A012",
    "clerk.shortcuts": "Shortcuts",
    "clerk.signout.busy": "Finish, transfer or mark no-show before signing out",

    "ticket.title": "Your place in the queue",
    "ticket.number": "Your number",
    "ticket.status.waiting": "Waiting",
    "ticket.status.called": "Please go to window {window}",
    "ticket.status.serving": "Being served at window {window}",
    "ticket.status.done": "Finished",
    "ticket.status.no_show": "Missed (no-show)",
    "ticket.status.cancelled": "Cancelled",
    "ticket.turn": "It's your turn!",
    "ticket.turn.window": "Please go to window {window}",
    "ticket.almost": "Almost your turn: {n} ahead of you",
    "ticket.ahead": "People ahead",
    "ticket.ahead.n": "{n}",
    "ticket.wait": "Estimated wait",
    "ticket.wait.n": "about {n} min",
    "ticket.wait.soon": "very soon",
    "ticket.near": "Alert me when this many are ahead",
    "ticket.noshow.help": "You were not there when called. Ask at the information desk to rejoin.",
    "ticket.invalid": "This ticket is not valid today, or the link is wrong.",
    "ticket.rate.title": "Please rate the service",
    "ticket.rate.thanks": "Thank you for your rating!",
    "ticket.rate.done": "This service has been rated",
    "ticket.rate.device": "Rated on the window's device, thank you!",
    "ticket.rate.closed": "The time to rate has passed",
    "ticket.live": "This page updates by itself",
    "level.5": "Very satisfied",
    "level.4": "Satisfied",
    "level.3": "Basically satisfied",
    "level.2": "Dissatisfied",
    "level.1": "Very dissatisfied",
    "source.device": "device",
    "source.phone": "phone",
    "source.kiosk": "kiosk",

    "sup.title": "Hall live view",
    "sup.token": "Supervisor token",
    "sup.queues": "Queues",
    "sup.windows": "Windows",
    "sup.alerts": "Alerts",
    "sup.q.name": "Queue",
    "sup.q.waiting": "Waiting",
    "sup.q.longest": "Longest wait",
    "sup.q.open": "Open windows",
    "sup.q.est": "Est. wait",
    "sup.w.idle": "Idle",
    "sup.w.title": "Window {n}",
    "sup.w.called": "Called {label}",
    "sup.w.serving": "Serving {label}",
    "sup.w.closed": "Closed",
    "sup.w.paused": "Paused",
    "sup.w.overdue": "Overdue",
    "sup.summary": "{waiting} waiting · {open} open · {paused} paused · {closed} closed",
    "sup.area.all": "All areas",
    "sup.alert.overdue": "Window {window}: case past its {n} min limit",
    "sup.alert.dissatisfied": "Window {window} {label}: {meaning}",
    "sup.alert.device": "Device {device} {part}: {state}",
    "sup.alerts.none": "No alerts",

    "err.unauthorized": "Wrong clerk id or PIN",
    "err.locked": "Too many wrong PINs; try again in a few minutes",
    "err.forbidden": "Not allowed",
    "err.unknown_window": "No such window",
    "err.window_busy": "The current ticket is not dealt with yet",
    "err.window_closed": "The window is closed; sign in to open it",
    "err.window_paused": "The window is paused; resume first",
    "err.recall_limit": "Recall limit reached; mark no-show",
    "err.no_current": "No current ticket",
    "err.invalid_state": "That ticket cannot be handled this way now",
    "err.unknown_ticket": "No such ticket",
    "err.unknown_queue": "No such queue",
    "err.bad_request": "Invalid input",
    "err.already_rated": "This service has already been rated",
    "err.rating_closed": "The time to rate has passed",
    "err.nothing_to_rate": "Nothing to rate",
    "err.timeout": "No answer from the server",
    "err.offline": "Not connected",
    "err.internal": "Server error; nothing was done",
  },
};

export const LANGS = Object.keys(STRINGS);
let current = null;

/** The page's language: the one chosen before, else the browser's, else Chinese. */
export function lang() {
  if (current) return current;
  let saved = null;
  try {
    saved = localStorage.getItem("hallq.lang");
  } catch (e) {
    /* storage may be off in private mode */
  }
  const fromUrl = new URLSearchParams(location.search).get("lang");
  const guess = (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
  current = [fromUrl, saved, guess].find((l) => LANGS.includes(l)) || "zh";
  return current;
}

/** Set the language; remember it only when the person chose it. */
export function setLang(value, remember = true) {
  if (!LANGS.includes(value)) return;
  current = value;
  if (remember) {
    try {
      localStorage.setItem("hallq.lang", value);
    } catch (e) {
      /* ignore */
    }
  }
  document.documentElement.lang = value === "zh" ? "zh-CN" : "en";
}

/** True when the person chose a language on this device (a ticket's must not override it). */
export function langChosen() {
  try {
    return Boolean(new URLSearchParams(location.search).get("lang") || localStorage.getItem("hallq.lang"));
  } catch (e) {
    return false;
  }
}

/** Translate a key, filling {placeholders}; an unknown key shows itself (easy to spot). */
export function t(key, vars = {}) {
  const table = STRINGS[lang()] || STRINGS.zh;
  const text = table[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** An error for people: our translation of its code, else the server's own message. */
export function errorText(err) {
  const code = err && err.code;
  const key = `err.${code}`;
  const table = STRINGS[lang()] || STRINGS.zh;
  if (code && key in table) return table[key];
  return (err && (err.serverMessage || err.message)) || String(err);
}

/** A per-language name from the hall's config ({zh: .., en: ..}). */
export function name(value) {
  if (!value) return "";
  if (typeof value === "string") return value;
  return value[lang()] || value.zh || Object.values(value)[0] || "";
}

/** Fill every data-i18n element (text), data-i18n-placeholder and data-i18n-title. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}
