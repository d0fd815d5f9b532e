"""Every string the kiosk shows, per language, and the hall's own names.

Catalogs are plain dicts so a hall can add a language (Mongolian, Tibetan, Uyghur ...) by
adding one dict; a key missing in a language falls back to Chinese, then English, so a
half-translated catalog still shows something readable rather than a key name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

CATALOGS: dict[str, dict[str, str]] = {
    "zh": {
        "language_name": "中文",
        "priority_title": "优先办理：请选择类别",
        "staff_prompt": "导办人员：请输入工号，按确定",
        "pin_prompt": "工号 {staff}：请输入密码，按确定",
        "pin_wrong": "密码至少 4 位，请重新输入",
        "err_priority_unauthorized": "工号或密码不正确，请导办人员重新输入",
        "err_priority_locked": "密码错误次数过多，该工号暂时锁定，请找其他导办人员",
        "err_unauthorized": "验证未通过，请核对后重试",
        "err_locked": "错误次数过多，请稍后再试或到服务台咨询",
        "check_title": "请输入号票上的 4 位校验码",
        "check_hint": "号码 {label}（校验码印在号票上，也显示在手机页面）",
        "check_mark": "评价校验码 {check}",
        "err_rating_unauthorized": "校验码与号码不符，请核对号票",
        "err_rating_bad_request": "请输入号码和号票上的校验码",
        "err_rating_wrong_check": "校验码与号码不符，请核对号票",
        "err_rating_forbidden": "请输入号票上的校验码或扫描号票二维码",
        "err_rating_locked": "校验码错误次数过多，请到服务台评价",
        "err_priority_staff_needed": "请导办人员输入工号和密码",
        "queue_now": "现在排队 {n} 人，预计等待约 {m} 分钟",
        "queue_now_range": "现在排队 {n} 人，预计等待约 {m} 分钟（{lo}–{hi} 分钟）",
        "queue_now_unknown": "现在排队 {n} 人",
        "people_ahead_0": "您前面没有人，请留意叫号",
        "rating_hint": "号码印在号票上，例如 A012",
        "large_text": "大字",
        "normal_text": "标准字",
        "read_aloud": "朗读",
        "home": "首页",
        "back": "返回",
        "areas": "服务区域",
        "most_used": "常办事项",
        "all_services": "全部事项 / 搜索",
        "appointment": "预约签到",
        "rating": "服务评价",
        "search_hint": "按拼音首字母搜索，例如 HJ",
        "search_all": "全部事项",
        "no_match": "没有找到事项，请换个字母或询问导办人员",
        "clear": "清空",
        "delete": "删除",
        "ok": "确定",
        "instant": "即办件：当场办结",
        "promised": "承诺件：{days} 个工作日内办结",
        "time_limit": "窗口办理时限约 {minutes} 分钟",
        "materials": "所需材料",
        "steps": "办理流程",
        "no_materials": "无需提交材料",
        "take_number": "取号",
        "ask_priority": "优先办理（老人、残疾人、孕妇、军人）",
        "priority_elderly": "老年人",
        "priority_disabled": "残疾人",
        "priority_pregnant": "孕妇",
        "priority_veteran": "军人 / 退役军人",
        "priority_appointment": "预约",
        "priority_mark": "优先",
        "appointment_title": "请输入预约码（8 位数字）",
        "check_in": "签到取号",
        "rating_title": "请输入您的排队号码",
        "rating_choose": "请为号码 {label} 的服务评价",
        "rating_thanks": "感谢您的评价！",
        "your_number": "您的号码",
        "people_ahead": "前面还有 {n} 人",
        "est_wait": "预计等待约 {n} 分钟",
        "est_wait_range": "预计等待约 {n} 分钟（{lo}–{hi} 分钟）",
        "est_wait_unknown": "预计等待时间暂不可知",
        "scan_qr": "扫码查看排队进度",
        "print_printing": "正在打印号票…",
        "print_printed": "请取走号票",
        "print_failed": "打印机故障（{reason}），请拍下二维码或记下您的号码",
        "print_none": "本机不打印号票，请拍下二维码或记下您的号码",
        "done": "完成",
        "busy": "请稍候…",
        "offline_title": "取号暂停",
        "offline_body": "暂时无法连接排队系统，请到服务台咨询。恢复后本机自动继续服务。",
        "connecting": "正在连接排队系统…",
        "idle_countdown": "{n} 秒后返回首页",
        "printer_online": "正常",
        "printer_paper_near_end": "纸将用完",
        "printer_paper_out": "缺纸",
        "printer_cover_open": "纸仓盖未关",
        "printer_not_answering": "无响应",
        "printer_cutter_error": "切刀故障",
        "printer_offline": "离线",
        "printer_overheated": "过热",
        "printer_unrecoverable_error": "故障",
        "printer_no_return_channel": "无法确认是否已出票",
        "err_closed": "该事项当前不在办理时间，请在办理时间内取号",
        "err_daily_cap": "该事项今日号源已满，请明天再来或预约",
        "err_unknown_service": "该事项已调整，请选择其他事项",
        "err_appointment_unknown": "预约码不存在，请核对后重新输入",
        "err_appointment_used": "该预约码已签到使用过",
        "err_appointment_expired": "该预约已过期，请重新预约或直接取号",
        "err_appointment_too_early": "还未到签到时间，请在预约时段前 30 分钟内签到",
        "err_appointment_cancelled": "该预约已取消",
        "err_already_rated": "该号码的服务已评价过，感谢您",
        "err_rating_closed": "该号码的评价时间已过",
        "err_nothing_to_rate": "该号码还没有办结的服务可评价",
        "err_unknown_ticket": "没有找到今天的这个号码，请核对",
        "err_bad_request": "输入有误，请核对后重试",
        "err_bad_rating": "该评价等级不可用",
        "err_bad_phone": "电话号码不正确，请重新输入",
        "err_consent_needed": "留下电话请先按“同意回访”",
        "rating_why": "请选择不满意的原因",
        "rating_why_hint": "可多选，也可直接按“下一步”",
        "rating_next": "下一步",
        "rating_phone_title": "回访电话（可不填）",
        "rating_consent": "号码仅用于就本次评价回访您，整改办结后即删除",
        "rating_agree": "同意回访",
        "rating_send": "提交评价",
        "err_timeout": "系统响应超时，请再按一次",
        "err_other": "暂时无法办理，请到服务台咨询",
        "case": "办件进度查询",
        "case_title": "请输入办件编号",
        "case_hint": "办件编号印在受理回执上，也显示在手机页面",
        "case_check_title": "请输入 4 位校验码",
        "case_check_hint": "办件 {number}：校验码印在号票和受理回执上",
        "case_number": "办件编号 {number}",
        "case_ready": "可以取件",
        "case_take_pickup": "取号出件",
        "case_ready_hint": "请取出件号，到统一出件窗口领取",
        "case_due": "承诺办结日期 {date}",
        "case_due_left": "承诺办结日期 {date}，还有 {n} 个工作日",
        "case_state_accepted": "已受理，等待审查",
        "case_state_in_review": "正在审查",
        "case_state_decided": "已审批，正在制证",
        "case_state_ready": "已办结，可以取件",
        "case_state_delivered": "已取件",
        "case_state_refused": "未予办理，请到服务台咨询",
        "case_state_suspended": "暂停办理：请补齐材料，详情请到服务台咨询",
        "stage_accepted": "受理",
        "stage_in_review": "审查",
        "stage_decided": "审批",
        "stage_ready": "办结",
        "stage_delivered": "取件",
        "err_case_unknown_case": "没有找到这个办件编号，请核对",
        "err_case_wrong_check": "校验码不正确，请核对后重新输入",
        "err_case_locked": "错误次数过多，请到服务台咨询",
        "err_case_bad_request": "办件编号有误，请核对",
    },
    "en": {
        "language_name": "English",
        "priority_title": "Priority service: choose the reason",
        "staff_prompt": "Hall guide: enter your staff number, then OK",
        "pin_prompt": "Staff {staff}: enter your PIN, then OK",
        "pin_wrong": "The PIN has at least 4 digits; enter it again",
        "err_priority_unauthorized": "Staff number or PIN not accepted: the guide may try again",
        "err_priority_locked": "Too many wrong PINs: this staff number is locked for a "
        "while; ask another guide",
        "err_unauthorized": "Not accepted; please check and try again",
        "err_locked": "Too many attempts; please try later or ask at the front desk",
        "check_title": "Enter the 4-digit check code printed on your ticket",
        "check_hint": "Ticket {label} (the check code is on the ticket and the phone page)",
        "check_mark": "Check code for rating: {check}",
        "err_rating_unauthorized": "The check code does not match this number; "
        "please check your ticket",
        "err_rating_bad_request": "Enter the number and the check code from your ticket",
        "err_rating_wrong_check": "The check code does not match this number; "
        "please check your ticket",
        "err_rating_forbidden": "Enter the check code from your ticket or scan its QR code",
        "err_rating_locked": "Too many wrong check codes: please rate at the front desk",
        "err_priority_staff_needed": "A hall guide enters a staff number and PIN",
        "queue_now": "{n} waiting now, about {m} min",
        "queue_now_range": "{n} waiting now, about {m} min ({lo}–{hi})",
        "queue_now_unknown": "{n} waiting now",
        "people_ahead_0": "No one ahead of you: watch for your number",
        "people_ahead_1": "1 person ahead of you",
        "rating_hint": "The number is on your ticket, e.g. A012",
        "large_text": "Large text",
        "normal_text": "Normal text",
        "read_aloud": "Read aloud",
        "home": "Home",
        "back": "Back",
        "areas": "Service areas",
        "most_used": "Most used services",
        "all_services": "All services / search",
        "appointment": "Appointment check-in",
        "rating": "Rate a service",
        "search_hint": "Type letters of the name or pinyin initials",
        "search_all": "All services",
        "no_match": "No service found: try other letters or ask a hall guide",
        "clear": "Clear",
        "delete": "Delete",
        "ok": "OK",
        "instant": "Instant: done at the window",
        "promised": "Promised: delivered within {days} working days",
        "time_limit": "About {minutes} minutes at the window",
        "materials": "Required materials",
        "steps": "Steps",
        "no_materials": "No documents needed",
        "take_number": "Take a number",
        "ask_priority": "Priority service (elderly, disabled, pregnant, veteran)",
        "priority_elderly": "Elderly",
        "priority_disabled": "Disabled",
        "priority_pregnant": "Pregnant",
        "priority_veteran": "Veteran",
        "priority_appointment": "Appointment",
        "priority_mark": "Priority",
        "appointment_title": "Enter your booking code (8\u00a0digits)",
        "check_in": "Check in",
        "rating_title": "Enter your ticket number",
        "rating_choose": "How was the service for ticket {label}?",
        "rating_thanks": "Thank you for your rating!",
        "your_number": "Your number",
        "people_ahead": "{n} people ahead of you",
        "est_wait": "Estimated wait: about {n} min",
        "est_wait_range": "Wait: about {n} min ({lo}–{hi})",
        "est_wait_unknown": "Waiting time not known yet",
        "scan_qr": "Scan to follow your turn",
        "print_printing": "Printing your ticket…",
        "print_printed": "Please take your ticket",
        "print_failed": "Printer problem ({reason}): please photograph the QR code "
        "or note your number",
        "print_none": "This kiosk prints no tickets: please photograph the QR code "
        "or note your number",
        "done": "Done",
        "busy": "Please wait…",
        "offline_title": "Ticket issue is paused",
        "offline_body": "The queue system cannot be reached. Please ask at the front desk. "
        "This kiosk resumes by itself.",
        "connecting": "Connecting to the queue system…",
        "idle_countdown": "Home in {n} s",
        "printer_online": "ready",
        "printer_paper_near_end": "paper low",
        "printer_paper_out": "out of paper",
        "printer_cover_open": "cover open",
        "printer_not_answering": "not answering",
        "printer_cutter_error": "cutter fault",
        "printer_offline": "offline",
        "printer_overheated": "overheated",
        "printer_unrecoverable_error": "fault",
        "printer_no_return_channel": "cannot confirm the ticket was printed",
        "err_closed": "This service is closed now; please come during opening hours",
        "err_daily_cap": "Today's tickets for this service are all taken; please come "
        "tomorrow or book",
        "err_unknown_service": "This service has changed; please choose another",
        "err_appointment_unknown": "No appointment with this code; please check it",
        "err_appointment_used": "This code has already been checked in",
        "err_appointment_expired": "This appointment has expired; book again or take a number",
        "err_appointment_too_early": "Too early: check in within 30 minutes of your slot",
        "err_appointment_cancelled": "This appointment was cancelled",
        "err_already_rated": "This service has already been rated. Thank you",
        "err_rating_closed": "The time to rate this service has passed",
        "err_nothing_to_rate": "This ticket has no finished service to rate yet",
        "err_unknown_ticket": "No ticket with this number today; please check it",
        "err_bad_request": "Something was entered wrong; please check and try again",
        "err_bad_rating": "This rating level is not available",
        "err_bad_phone": "That phone number is not valid; please type it again",
        "err_consent_needed": "To leave a number, press “I agree” first",
        "rating_why": "What went wrong?",
        "rating_why_hint": "Pick any, or press Next",
        "rating_next": "Next",
        "rating_phone_title": "Phone number for a call-back (optional)",
        "rating_consent": "Used only to call you back about this rating; erased once it is closed",
        "rating_agree": "I agree to a call-back",
        "rating_send": "Send rating",
        "err_timeout": "The system did not answer in time; please press again",
        "err_other": "This cannot be done now; please ask at the front desk",
        "case": "Case progress",
        "case_title": "Enter your case number",
        "case_hint": "The case number is on your receipt and the phone page",
        "case_check_title": "Enter the check code",
        "case_check_hint": "Case {number}: the 4 digits on your ticket and receipt",
        "case_number": "Case {number}",
        "case_ready": "Ready for pick-up",
        "case_take_pickup": "Take a pick-up number",
        "case_ready_hint": "Take a pick-up number and collect it at the pick-up window",
        "case_due": "Due {date}",
        "case_due_left": "Due {date}: {n} working days left",
        "case_due_left_1": "Due {date}: 1 working day left",
        "case_state_accepted": "Accepted, waiting for review",
        "case_state_in_review": "Under review",
        "case_state_decided": "Approved, being prepared",
        "case_state_ready": "Done: ready for pick-up",
        "case_state_delivered": "Collected",
        "case_state_refused": "Not granted: please ask at the front desk",
        "case_state_suspended": "On hold: materials are missing; please ask at the front desk",
        "stage_accepted": "Accepted",
        "stage_in_review": "Review",
        "stage_decided": "Approval",
        "stage_ready": "Done",
        "stage_delivered": "Collected",
        "err_case_unknown_case": "No case with this number; please check it",
        "err_case_wrong_check": "The check code does not match; please enter it again",
        "err_case_locked": "Too many wrong codes; please ask at the front desk",
        "err_case_bad_request": "This case number is not right; please check it",
    },
}


def _level_names() -> None:
    """The rating levels' names (``level_1`` ... ``level_5``) from the one table,
    ``queue_server.core.ratings.LEVEL_TABLE`` (the same the server publishes in
    ``hall.info``), never translated here a second time."""
    from queue_server.core.ratings import level_names

    for level, names in level_names().items():
        for lang, text in names.items():
            CATALOGS.setdefault(lang, {})[f"level_{level}"] = text


_level_names()

FALLBACK = ("zh", "en")


def tr(language: str, key: str, **values: Any) -> str:
    """The text for ``key`` in ``language``, formatted with ``values``."""
    for lang in (language, *FALLBACK):
        text = CATALOGS.get(lang, {}).get(key)
        if text is not None:
            return text.format(**values) if values else text
    return key


def count(language: str, key: str, n: int, **values: Any) -> str:
    """``key`` for the number ``n``: ``key_0`` / ``key_1`` when the language has them
    ("1 person", not "1 people"), else ``key`` itself."""
    for variant in (f"{key}_{n}", key):
        if variant in CATALOGS.get(language, {}):
            return tr(language, variant, n=n, **values)
    return tr(language, key, n=n, **values)


def error_text(language: str, code: str, where: str = "") -> str:
    """A refusal code from the server, said plainly; unknown codes get a generic line.

    ``where`` (the screen) picks a more precise text when there is one: ``unauthorized``
    on the priority screen is the guide's PIN, on the rating screen the check code."""
    for key in (f"err_{where}_{code}", f"err_{code}"):
        for lang in (language, *FALLBACK):
            if key in CATALOGS.get(lang, {}):
                return tr(language, key)
    return tr(language, "err_other")


def pick(names: Mapping[str, Any] | None, language: str) -> Any:
    """A per-language value from the hall config (names, materials), with fallback."""
    if not names:
        return ""
    if isinstance(names, str):
        return names
    for lang in (language, *FALLBACK):
        if lang in names and names[lang]:
            return names[lang]
    return next(iter(names.values()))


def where_to_go(hall: Mapping[str, Any], service: Mapping[str, Any], language: str) -> str:
    """The service's area, floor and place, and the windows that serve its queue, from
    ``hall.info``: the one rule of ``queue_server.core.where`` (the phone page shows the
    same text, which the server computes with it)."""
    from queue_server.core.where import where_to_go as rule

    return rule(hall, service, language)


def mark(kind: str | None, language: str) -> str:
    """How a priority or appointment ticket is marked, on screen and on paper."""
    if not kind:
        return ""
    name = tr(language, f"priority_{kind}")
    return name if kind == "appointment" else f"{tr(language, 'priority_mark')} · {name}"


#: Chinese words a line must never split (残疾/人 reads as "disabled / person"). Longest
#: first wins where two overlap. A hall's own names are kept whole by the same rule when
#: they contain these; anything else breaks between characters, as Chinese may.
UNBREAKABLE: tuple[str, ...] = (
    "退役军人",
    "导办人员",
    "政务服务",
    "不动产",
    "公积金",
    "残疾人",
    "老年人",
    "身份证",
    "居住证",
    "营业执照",
    "预约码",
    "校验码",
    "二维码",
    "服务台",
    "工作日",
    "排队号",
    "号窗口",
    "军人",
    "孕妇",
    "户籍",
    "出件",
    "政审",
    "窗口",
    "预约",
    "签到",
    "取号",
    "号票",
    "社保",
    "医保",
    "党费",
    "党员",
    "事项",
    "材料",
    "评价",
    "满意",
    "密码",
    "工号",
    "分钟",
    "服务",
    "办理",
    "等待",
    "号码",
)
_NO_LINE_START = set("，。、；：？！）」』】》%,.;:?!)")
_NO_LINE_END = set("（「『【《(")


def segments(text: str) -> list[str]:
    """``text`` cut where a line may break: whole terms of :data:`UNBREAKABLE`, whole
    Latin words and numbers (with the space after them), single other characters;
    closing punctuation stays with what precedes it, opening with what follows."""
    terms = sorted(UNBREAKABLE, key=len, reverse=True)
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isascii() and (ch.isalnum() or ch in "-_/.+:"):
            j = i
            while j < n and text[j].isascii() and not text[j].isspace():
                j += 1
            while j < n and text[j] == " ":
                j += 1
            token = text[i:j]
        else:
            token = next((t for t in terms if text.startswith(t, i)), ch)
            j = i + len(token)
            while j < n and text[j] == " ":
                j += 1
            token = text[i:j]
        if out and (token[0] in _NO_LINE_START or out[-1][-1] in _NO_LINE_END):
            out[-1] += token
        else:
            out.append(token)
        i = j
    return out


def wrap(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` with line breaks where :func:`segments` allows, each line at most
    ``width`` wide by ``measure``; text that fits, or has no Chinese, is returned as is
    (Kivy breaks Latin text at spaces itself)."""
    if width <= 0 or not any("\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in text):
        return text
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if measure(paragraph) <= width:
            lines.append(paragraph)
            continue
        line = ""
        for token in segments(paragraph):
            if line and measure(line + token.rstrip()) > width:
                lines.append(line.rstrip())
                line = token
            else:
                line += token
        lines.append(line.rstrip())
    return "\n".join(lines)


def languages() -> list[str]:
    return list(CATALOGS)
