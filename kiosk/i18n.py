"""Every string the kiosk shows, per language, and the hall's own names.

Catalogs are plain dicts so a hall can add a language (Mongolian, Tibetan, Uyghur ...) by
adding one dict; a key missing in a language falls back to Chinese, then English, so a
half-translated catalog still shows something readable rather than a key name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CATALOGS: dict[str, dict[str, str]] = {
    "zh": {
        "language_name": "中文",
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
        "priority_title": "请选择优先类别",
        "priority_elderly": "老年人",
        "priority_disabled": "残疾人",
        "priority_pregnant": "孕妇",
        "priority_veteran": "军人 / 退役军人",
        "priority_appointment": "预约",
        "pin_prompt": "请导办人员输入确认密码",
        "pin_wrong": "密码不正确，请导办人员重新输入",
        "priority_mark": "优先",
        "appointment_title": "请输入预约码（8 位数字）",
        "check_in": "签到取号",
        "rating_title": "请输入您的排队号码",
        "rating_choose": "请为号码 {label} 的服务评价",
        "rating_thanks": "感谢您的评价！",
        "level_5": "非常满意",
        "level_4": "满意",
        "level_3": "基本满意",
        "level_2": "不满意",
        "level_1": "非常不满意",
        "your_number": "您的号码",
        "people_ahead": "前面还有 {n} 人",
        "est_wait": "预计等待约 {n} 分钟",
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
        "err_timeout": "系统响应超时，请再按一次",
        "err_other": "暂时无法办理，请到服务台咨询",
    },
    "en": {
        "language_name": "English",
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
        "priority_title": "Choose the priority reason",
        "priority_elderly": "Elderly",
        "priority_disabled": "Disabled",
        "priority_pregnant": "Pregnant",
        "priority_veteran": "Veteran",
        "priority_appointment": "Appointment",
        "pin_prompt": "A hall guide enters the staff PIN to confirm",
        "pin_wrong": "Wrong PIN: the hall guide may try again",
        "priority_mark": "Priority",
        "appointment_title": "Enter your booking code (8 digits)",
        "check_in": "Check in",
        "rating_title": "Enter your ticket number",
        "rating_choose": "How was the service for ticket {label}?",
        "rating_thanks": "Thank you for your rating!",
        "level_5": "Very satisfied",
        "level_4": "Satisfied",
        "level_3": "Basically satisfied",
        "level_2": "Dissatisfied",
        "level_1": "Very dissatisfied",
        "your_number": "Your number",
        "people_ahead": "{n} people ahead of you",
        "est_wait": "Estimated wait: about {n} min",
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
        "err_timeout": "The system did not answer in time; please press again",
        "err_other": "This cannot be done now; please ask at the front desk",
    },
}

FALLBACK = ("zh", "en")


def tr(language: str, key: str, **values: Any) -> str:
    """The text for ``key`` in ``language``, formatted with ``values``."""
    for lang in (language, *FALLBACK):
        text = CATALOGS.get(lang, {}).get(key)
        if text is not None:
            return text.format(**values) if values else text
    return key


def error_text(language: str, code: str) -> str:
    """A refusal code from the server, said plainly; unknown codes get a generic line."""
    key = f"err_{code}"
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


def languages() -> list[str]:
    return list(CATALOGS)
