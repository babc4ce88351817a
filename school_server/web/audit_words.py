"""The audit log's targets and details in the page's language.

The log stores them as written at the time (plain English, fixed forms: the
hash chain covers them, so they never change); the audit page, a student's
history and the audit CSV read each known form back in the page's language.
A form not known here (an older or newer one) shows as stored."""

from __future__ import annotations

import re
from collections.abc import Callable

Tr = Callable[..., str]
_FROM = r"from (?P<address>\S+)"
# action -> (pattern over the stored detail, message key); the groups are its figures.
DETAILS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "login": [(re.compile(f"^{_FROM}$"), "audit.detail.from")],
    "login_failed": [(re.compile(f"^{_FROM}$"), "audit.detail.from")],
    "login_locked": [(re.compile(f"^{_FROM}; refusal (?P<count>[0-9]+) in this window .*$"),
                      "audit.detail.refusal")],
    "user_added": [(re.compile(r"^role (?P<role>\w+)$"), "audit.detail.role")],
    "retry_unopenable": [(re.compile(r"^(?P<count>[0-9]+) captures$"), "audit.detail.captures")],
    "download_missing": [(re.compile(r"^(?P<count>[0-9]+) rows$"), "audit.detail.rows")],
    "correction": [(re.compile(r"^(?P<field>name|id_number): (?P<old>.*?) -> (?P<new>.*?); "
                               r"(?P<reason>.*)$", re.S), "audit.detail.correction")],
    "export": [(re.compile(r"^zip by ID number$"), "audit.detail.export_zip"),
               (re.compile(r"^(?P<count>[0-9]+) photos by ID number to (?P<folder>.+)$"),
                "audit.detail.export_by_id"),
               (re.compile(r"^(?P<count>[0-9]+) captures by capture id to (?P<folder>.+)$"),
                "audit.detail.export_by_capture")],
    "import": [(re.compile(r"^(?P<file>.*): (?P<clean>[0-9]+) of (?P<rows>[0-9]+) rows, "
                           r"(?P<problems>[0-9]+) problems; centres (?P<centres>.*)$", re.S),
                "audit.detail.import")],
}
DETAILS["login_throttled"] = DETAILS["login_locked"]
DECISIONS = ("pending", "approved", "rejected")
FILTER_KEYS = {"action": "col.action", "user": "col.username", "student": "audit.detail.student",
               "since": "audit.since", "until": "audit.until"}


def _figure(name: str, value: str, t: Tr) -> str:
    """A figure that is itself a word: a role, a corrected field's name."""
    if name == "role":
        return t(f"role.{value}")
    if name == "field":
        return t(f"correct.field.{value}")
    return value


def detail_text(action: str, detail: str, t: Tr) -> str:
    if action == "review":  # "approved" or "rejected <reason>"
        decision, _, reason = detail.partition(" ")
        if decision in ("approved", "rejected"):
            return t(f"decision.{decision}") + (f" ({t('reject.' + reason)})" if reason else "")
    if action == "download_audit":  # the filter: "action=review; user=x; ..."
        pairs = [part.partition("=") for part in detail.split("; ")] if detail else []
        if pairs and all(sep and key in FILTER_KEYS for key, sep, _ in pairs):
            return "；".join(f"{t(FILTER_KEYS[key])}：" + (t(f"action.{value}") if key == "action"
                                                          else value)
                            for key, _, value in pairs)
    for pattern, key in DETAILS.get(action, []):
        found = pattern.match(detail)
        if found:
            return t(key, **{k: _figure(k, v, t) for k, v in found.groupdict().items()})
    return detail


def target_text(action: str, target: str, t: Tr) -> str:
    if target == "all centres":
        return t("audit.target.all_centres")
    if action == "view_page" and target == "student":
        return t("audit.target.student")
    decision = target.removeprefix("review ")
    if action == "view_page" and target.startswith("review ") and decision in DECISIONS:
        return t("audit.target.review", decision=t(f"decision.{decision}"))
    if action == "import" and target in ("roster", "schedule"):
        return t(f"import.kind.{target}")
    return target
