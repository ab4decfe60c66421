"""The console's words in English and Chinese: one table, looked up by key.

A page is rendered in one language (the ``lang`` cookie, else the browser's
``Accept-Language``); a missing key is an error in the tests, never a blank label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

LABELS: Mapping[str, tuple[str, str]] = {
    "title": ("Audit console", "审计控制台"),
    "subtitle": ("read-only: nothing here changes the log", "只读：本控制台不修改审计日志"),
    "nav.search": ("Search", "查询"),
    "nav.alerts": ("Refusals and alerts", "拒绝与预警"),
    "nav.chain": ("Chain status", "日志完整性"),
    "nav.dashboard": ("Sharing performance", "共享绩效"),
    "nav.statement": ("Citizen statement", "公民查询记录"),
    "signed_in_as": ("Signed in as", "当前用户"),
    "development_mode": (
        "Development mode: no sign-in, this machine only",
        "开发模式：无需登录，仅限本机访问",
    ),
    "sign_out": ("Sign out", "退出"),
    "sign_in": ("Sign in", "登录"),
    "sign_in.title": ("Auditor sign-in", "审计人员登录"),
    "account": ("Account", "账号"),
    "password": ("Password", "密码"),
    "sign_in.refused": ("Wrong account or password.", "账号或密码错误。"),
    "sign_in.throttled": (
        "Too many failed sign-ins: try again in {seconds} seconds.",
        "登录失败次数过多：请 {seconds} 秒后再试。",
    ),
    "sign_in.expired": (
        "The form expired: please sign in again.",
        "表单已过期，请重新登录。",
    ),
    "search.title": ("Search requests", "查询请求记录"),
    "search.subject": ("Citizen ID (resident ID or credit code)", "身份证号或统一社会信用代码"),
    "search.subject_note": (
        "Hashed with the pseudonym key and never kept in the address bar.",
        "仅以假名密钥散列后查询，不出现在地址栏。",
    ),
    "search.searching_pseudonym": ("Searching for the subject", "查询对象"),
    "caller": ("Calling system or department", "调用系统或部门"),
    "item": ("Service item", "事项"),
    "decision": ("Decision", "结论"),
    "kind": ("Kind", "类型"),
    "kind.any": ("any", "全部"),
    "kind.verification": ("verification", "核验"),
    "kind.refusal": ("refused", "拒绝"),
    "since": ("From (date)", "起始日期"),
    "until": ("Until (date, inclusive)", "截止日期（含）"),
    "search": ("Search", "查询"),
    "results": ("{shown} of {total} matching request(s)", "共 {total} 条匹配，显示 {shown} 条"),
    "no_results": ("No request matched.", "没有匹配的请求。"),
    "time": ("Time (UTC+8)", "时间（北京时间）"),
    "request": ("Request", "请求"),
    "operator": ("Operator", "经办人"),
    "subjects": ("Subjects", "对象"),
    "outcome": ("Outcome", "结果"),
    "refused": ("REFUSED", "已拒绝"),
    "cancelled": ("CANCELLED", "已取消"),
    "trace.title": ("Verification", "核验记录"),
    "trace.refusal_title": ("Refused request", "被拒绝的请求"),
    "trace.where": ("Place in the log", "日志位置"),
    "trace_id": ("Trace id", "追踪 ID"),
    "purpose": ("Purpose", "用途"),
    "legal_basis": ("Legal basis", "法律依据"),
    "consent": ("Consent reference", "授权书编号"),
    "case_number": ("Case number", "案件编号"),
    "reference_date": ("Reference date", "基准日期"),
    "duration": ("Duration (ms)", "耗时（毫秒）"),
    "score": ("Score", "分值"),
    "facts": ("Facts disclosed, with provenance", "提供的事实及来源"),
    "fact": ("Fact", "事实"),
    "department": ("Department", "部门"),
    "sharing": ("Sharing class", "共享类型"),
    "result": ("Result", "结果"),
    "cached": ("Cached", "缓存"),
    "stale": ("Stale", "过期"),
    "attempts": ("Attempts", "尝试次数"),
    "latency": ("Latency (ms)", "延迟（毫秒）"),
    "replaces": ("Document no longer required", "免交材料"),
    "calls": ("Department calls", "部门调用"),
    "call_outcome": ("Outcome", "结果"),
    "documents": ("Documents no longer required", "免交材料"),
    "no_documents": ("None.", "无。"),
    "clauses": ("Why: the rule's clauses", "判定依据：规则条款"),
    "clauses_missing": (
        "This record holds no clause tree (written before decision traces were kept).",
        "该记录未保存条款树（早于决策追踪功能）。",
    ),
    "trace.rule_version": ("Rule version", "规则版本"),
    "trace.parameters": ("Parameters", "参数"),
    "trace.thresholds": ("Thresholds in force", "适用阈值"),
    "trace.component": ("Score component", "计分项"),
    "trace.points": ("Points", "分值"),
    "refusals": ("Refusals", "拒绝原因"),
    "rule": ("Rule", "规则"),
    "whole_request": ("the whole request", "整个请求"),
    "nothing_read": (
        "No department was asked: refused by access control.",
        "访问控制已拒绝，未调用任何部门。",
    ),
    "not_found": ("No request with this id in the log.", "日志中没有该请求。"),
    "alerts.title": ("Refusals and high-risk alerts", "拒绝记录与高危行为预警"),
    "alerts.refusals": ("Requests refused by access control", "被访问控制拒绝的请求"),
    "alerts.alerts": ("High-risk alerts", "高危行为预警"),
    "alerts.unauthenticated": ("Unauthenticated calls", "未通过身份认证的调用"),
    "observed": ("Observed", "观测值"),
    "threshold": ("Threshold", "阈值"),
    "window": ("Window (s)", "时间窗口（秒）"),
    "description": ("Description", "说明"),
    "peer_host": ("Peer host", "来源主机"),
    "reasons": ("Reasons", "原因"),
    "none": ("None.", "无。"),
    "chain.title": ("Chain status", "审计日志完整性"),
    "chain.state": ("State", "状态"),
    "chain.directory": ("Chain", "日志链"),
    "chain.log_id": ("Log id", "日志 ID"),
    "chain.entries": ("Entries", "条目数"),
    "chain.records": ("Records", "记录数"),
    "chain.checkpoints": ("Signed checkpoints", "签名检查点"),
    "chain.sealed": ("Last verified checkpoint (seq)", "最后验证的检查点（序号）"),
    "chain.open_tail": ("Entries after it, not yet sealed", "其后尚未签名的条目"),
    "chain.witness": ("Witness", "见证方"),
    "chain.witnessed": ("Witness's latest checkpoint (seq)", "见证方最新检查点（序号）"),
    "chain.no_witness": (
        "No witness consulted: a log cut back would go unseen.",
        "未查询见证方：日志被截短将无法发现。",
    ),
    "chain.break": ("First break", "首个断点"),
    "chain.truncated": (
        "Truncated: the log ends before the witness's checkpoint.",
        "已截短：日志结束于见证方检查点之前。",
    ),
    "chain.error": ("Could not check", "无法检查"),
    "dashboard.title": ("Sharing performance", "数据共享绩效"),
    "dashboard.verifications": ("Verifications", "核验次数"),
    "dashboard.sparing": ("Spared at least one paper document", "至少免交一份纸质材料"),
    "dashboard.refusals": ("Refused requests", "被拒绝的请求"),
    "dashboard.alerts": ("High-risk alerts", "高危预警"),
    "chart.facts": ("Facts provided per department", "各部门提供的事实"),
    "chart.known": ("known", "已确认"),
    "chart.unknown": ("UNKNOWN", "未知"),
    "chart.unknown_rate": ("UNKNOWN rate per department over time", "各部门未知率变化"),
    "chart.p50": ("Median latency (ms) per department over time", "各部门延迟中位数（毫秒）"),
    "chart.p95": (
        "95th-percentile latency (ms) per department over time",
        "各部门延迟 95 分位（毫秒）",
    ),
    "chart.decisions": ("Decisions per service item", "各事项核验结论"),
    "chart.documents": ("Documents no longer required", "免交材料"),
    "chart.refusals": ("Refused requests per access rule", "各访问规则拒绝的请求"),
    "chart.alerts": ("Alerts per rule", "各规则预警次数"),
    "chart.empty": ("No data in this period.", "该期间没有数据。"),
    "chart.bucket": ("one point per {bucket}", "每个点代表 {bucket}"),
    "bucket.minute": ("minute", "一分钟"),
    "bucket.hour": ("hour", "一小时"),
    "bucket.day": ("day", "一天"),
    "bucket.week": ("week", "一周"),
    "latency_table": ("Department latency (ms)", "部门延迟（毫秒）"),
    "statement.title": ("Access statement", "个人数据查询记录"),
    "statement.intro": (
        "Who read which facts about this citizen, when, and why; and which requests about "
        "them access control refused (nothing was read for those).",
        "何人、何时、因何查询了该公民的哪些事实；以及被访问控制拒绝的请求（未读取任何数据）。",
    ),
    "statement.subject": ("Subject", "对象"),
    "statement.period": ("Period", "期间"),
    "statement.roles": ("As", "身份"),
    "statement.accesses": ("{count} access(es) recorded", "共 {count} 次查询"),
    "statement.refused": (
        "{count} refused request(s): no department data was read",
        "{count} 次请求被拒绝：未读取任何部门数据",
    ),
    "statement.unattributed": (
        "{count} fact(s) of this request could not be attributed to a person",
        "该请求有 {count} 项事实无法归属到具体个人",
    ),
    "statement.others": (
        "Also refused, about other people named in it",
        "同时被拒绝（涉及其他人）",
    ),
    "statement.print": (
        "Print this page for the citizen (Ctrl+P).",
        "可直接打印本页交给公民（Ctrl+P）。",
    ),
    "statement.generated": ("Generated", "生成时间"),
    "statement.no_subject": (
        "Enter the citizen's ID to make their statement.",
        "输入公民身份证号以生成查询记录。",
    ),
    "make_statement": ("Make the statement", "生成查询记录"),
    "all_time": ("all records", "全部记录"),
    "error.field": ("{field}: {problem}", "{field}：{problem}"),
    "error.wrong_key": (
        "Wrong pseudonym key: the log was written with key {logged}, the console has {given}.",
        "假名密钥不符：日志使用密钥 {logged}，控制台使用 {given}。",
    ),
    "error.other_key": (
        "{count} request(s) were written with another pseudonym key and cannot be searched.",
        "有 {count} 条请求使用其他假名密钥写入，无法查询。",
    ),
    "language": ("中文", "English"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "forbidden": ("This console is open to this machine only.", "本控制台仅限本机访问。"),
}


def label(key: str, language: Language, **values: object) -> str:
    """The label ``key`` in ``language``, with ``{name}`` placeholders filled."""
    english, chinese = LABELS[key]
    text = chinese if language == "zh" else english
    return text.format(**values) if values else text


def language_of(cookie: str | None, accept_language: str | None) -> Language:
    """The ``lang`` cookie if it names a language, else Chinese for a browser that asks for
    it first, else English."""
    if cookie in LANGUAGES:
        return "zh" if cookie == "zh" else "en"
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"
