"""The live validation checklist: one line per check, ⏳ → ✅ or ❌ with the fix."""

from __future__ import annotations

from bot.aws.validation import CheckResult, CheckStatus
from bot.connection.model import Connection, State
from bot.slack import ids
from bot.slack.views.text import actions, button, code, context, escape, section
from bot.slack.views.thread import cleanup_text, start_over_button

ICON = {  # a check not done yet, waiting or running, is ⏳; the one running says so
    CheckStatus.PENDING: ":hourglass_flowing_sand:",
    CheckStatus.RUNNING: ":hourglass_flowing_sand:",
    CheckStatus.PASSED: ":white_check_mark:",
    CheckStatus.FAILED: ":x:",
    CheckStatus.SKIPPED: ":heavy_minus_sign:",
}


def check_line(check: CheckResult) -> str:
    line = f"{ICON[check.status]} *{escape(check.title)}*"
    if check.found:
        line += f" — {escape(check.found)}"
    elif check.status is CheckStatus.RUNNING:
        line += " — checking…"
    if check.status is CheckStatus.FAILED and check.fix:
        line += f"\n      :point_right: {escape(check.fix)}"
    return line


def checklist_message(conn: Connection, checks: tuple[CheckResult, ...]) -> dict:
    """The checklist as it stands; once validation is over it carries the outcome too."""
    role = f"Role {code(conn.role_arn)} · region `{conn.region}`"
    if conn.state is State.VALIDATING:
        head = f":mag: *Validating {escape(conn.org_id)}* — this takes up to a minute."
    elif conn.state is State.VALIDATION_FAILED:
        head = f":x: *Validation of {escape(conn.org_id)} failed.* Fix what is marked below, then try again."
    else:
        head = f":white_check_mark: *{escape(conn.org_id)} passed every check.*"
    blocks = [section(head), context(role), section("\n".join(check_line(c) for c in checks))]
    if conn.state is State.VALIDATION_FAILED:
        blocks.append(
            actions(
                "retry",
                button("Try another role ARN", ids.ENTER_ROLE, conn.id, style="primary"),
                start_over_button(conn),
            )
        )
        blocks.append(context(cleanup_text(conn).replace("*", "")[:2900]))
    elif conn.state is State.PENDING_APPROVAL:
        blocks.append(context(f"{conn.account_count} accounts found. Waiting for an approver."))
    failed = sum(c.status is CheckStatus.FAILED for c in checks)
    passed = sum(c.status is CheckStatus.PASSED for c in checks)
    text = f"Validation of {conn.org_id}: {passed} passed, {failed} failed, {len(checks)} checks"
    return {"text": text, "blocks": blocks}
