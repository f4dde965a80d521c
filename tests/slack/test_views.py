"""The views are pure functions: domain objects in, Block Kit out."""

import json

import pytest

from bot.aws.validation import CheckResult, CheckStatus
from bot.connection.model import Connection, State
from bot.slack import ids
from bot.slack.views import messages
from bot.slack.views.approval import approval_decided, approval_request
from bot.slack.views.checklist import checklist_message
from bot.slack.views.modals import ids_modal, reject_modal, role_modal
from bot.slack.views.text import escape
from bot.slack.views.thread import closed_notice, instructions_message, parent_message, prerequisites_message

NOW = 1_764_000_000.0


def conn(**overrides) -> Connection:
    base = dict(
        id="0123456789abcdef",
        state=State.AWAITING_STACK,
        requester="U0REQ",
        channel="C0CE",
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + 86400,
        parent_ts="1.000100",
        org_id="o-abcdefghij",
        root_id="r-ab12",
        external_id="ext",
        stack_set_name="CloudEntitlements-MemberRoles",
        region="eu-west-1",
        role_arn="arn:aws:iam::123456789012:role/CloudEntitlementsManagementRole",
    )
    return Connection(**{**base, **overrides})


def buttons(message: dict) -> dict[str, dict]:
    return {
        e["action_id"]: e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def all_text(message: dict) -> str:
    return json.dumps(message)


def test_parent_message_names_requester_and_step():
    message = parent_message(conn(state=State.STARTED, org_id=""))
    assert "<@U0REQ>" in all_text(message)
    assert "Step 1 of 4" in message["text"] and "started by <@U0REQ>" in message["text"]  # the notification too
    assert "Step 2 of 4" in parent_message(conn())["text"]


def test_prerequisites_offer_the_ids_button_with_only_the_connection_id():
    message = prerequisites_message(conn(state=State.STARTED))
    assert buttons(message)[ids.ENTER_IDS]["value"] == "0123456789abcdef"
    assert "management account" in all_text(message)
    assert "trusted access" in all_text(message).lower()


def test_instructions_carry_console_steps_cli_and_role_arn_button():
    message = instructions_message(conn())
    text = all_text(message)
    assert "CAPABILITY_NAMED_IAM" in text and "--region eu-west-1" in text
    assert "CREATE_COMPLETE" in text and "RoleArn" in text
    # The console asks for a stack name; the one typed must be the one the clean-up steps delete.
    assert "Stack name*: `cloud-entitlements`" in text and "--stack-name cloud-entitlements" in text
    assert "role ARN" in buttons(message)[ids.ENTER_ROLE]["text"]["text"]


def test_ids_modal_labels_and_blocks():
    view = ids_modal("0123456789abcdef")
    labels = {b["block_id"]: b["label"]["text"] for b in view["blocks"] if b["type"] == "input"}
    assert labels == {ids.ORGANIZATION_ID_BLOCK: "Organization ID", ids.ROOT_ID_BLOCK: "Root ID"}
    assert view["private_metadata"] == "0123456789abcdef"
    assert len(view["title"]["text"]) <= 24


def test_role_modal_preselects_the_connections_region():
    view = role_modal(conn())
    region = next(b for b in view["blocks"] if b.get("block_id") == ids.REGION_BLOCK)
    assert region["element"]["initial_option"]["value"] == "eu-west-1"
    assert any(b.get("label", {}).get("text") == "Role ARN" for b in view["blocks"])


def test_input_fields_are_named_like_their_blocks():
    """InvalidInput.field is used directly as the block_id of a modal error."""
    assert {ids.ORGANIZATION_ID_BLOCK, ids.ROOT_ID_BLOCK, ids.ROLE_ARN_BLOCK, ids.REGION_BLOCK, ids.REASON_BLOCK} == {
        "organization_id",
        "root_id",
        "role_arn",
        "region",
        "reason",
    }


def test_checklist_failure_offers_retry_and_start_over_with_cleanup_order():
    checks = (
        CheckResult("assume_role", "Assume the role", CheckStatus.FAILED, "AccessDenied", "Deploy the template unchanged"),
        CheckResult("organization", "Organization", CheckStatus.SKIPPED, "not run"),
    )
    message = checklist_message(conn(state=State.VALIDATION_FAILED), checks)
    assert set(buttons(message)) == {ids.ENTER_ROLE, ids.START_OVER}
    text = all_text(message)
    assert ":x:" in text and "Deploy the template unchanged" in text
    assert text.index("StackSet") < text.index("delete-stack ")


def test_checklist_lines_go_from_hourglass_to_a_tick_or_a_cross():
    waiting = (
        CheckResult("assume_role", "Assume the role", CheckStatus.RUNNING),
        CheckResult("organization", "Organization", CheckStatus.PENDING),
    )
    message = checklist_message(conn(state=State.VALIDATING), waiting)
    checks = next(b["text"]["text"] for b in message["blocks"] if "Assume the role" in b.get("text", {}).get("text", ""))
    checks = checks.split("\n")
    assert len(checks) == 2 and all(line.startswith(":hourglass_flowing_sand:") for line in checks)
    assert "checking…" in checks[0] and "checking" not in checks[1]  # which one runs now


def test_checklist_escapes_what_aws_or_users_said():
    checks = (CheckResult("x", "X", CheckStatus.FAILED, "<!channel> found", "fix <http://evil|here>"),)
    text = all_text(checklist_message(conn(state=State.VALIDATION_FAILED), checks))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_approval_request_then_decided_without_buttons():
    pending = conn(state=State.PENDING_APPROVAL, account_count=4, management_account_id="123456789012")
    request = approval_request(pending, {"U0APP", "S0GRP"})
    assert set(buttons(request)) == {ids.APPROVE, ids.REJECT}
    assert "<@U0APP>" in all_text(request) and "<!subteam^S0GRP>" in all_text(request)
    decided = approval_decided(conn(state=State.CONNECTED, decided_by="U0APP", decided_at=NOW))
    assert not buttons(decided)
    assert "Approved by <@U0APP>" in all_text(decided)


def test_rejection_reason_is_escaped_everywhere():
    rejected = conn(state=State.REJECTED, decided_by="U0APP", decided_at=NOW, reject_reason="<!here> *no*")
    for message in (approval_decided(rejected), closed_notice(rejected, "U0APP"), parent_message(rejected)):
        assert "<!here>" not in all_text(message)


def test_reject_modal_requires_a_reason():
    view = reject_modal(conn(state=State.PENDING_APPROVAL))
    reason = next(b for b in view["blocks"] if b.get("block_id") == ids.REASON_BLOCK)
    assert not reason.get("optional") and reason["element"]["max_length"] == 500


@pytest.mark.parametrize("state", list(State))
def test_every_state_renders(state):
    c = conn(state=state, decided_by="U0APP", decided_at=NOW)
    assert parent_message(c)["text"]
    assert messages.moved_on(c)
    assert messages.modal_refusal("wrong_state", c, who="x")


def test_modal_refusals_are_plain_text():
    taken = messages.organization_taken("o-abcdefghij", conn(state=State.CONNECTED))
    assert "already connected" in taken and "<" not in taken
    assert "<" not in messages.modal_refusal("wrong_state", conn(state=State.CONNECTED, decided_by="U1"), who="x")


def test_usage_echoes_unknown_text_escaped():
    assert "&lt;!channel&gt;" in messages.usage("<!channel>")
    assert "/ce connect aws-org" in messages.usage()


def test_escape():
    assert escape("<@U1> & <!here>") == "&lt;@U1&gt; &amp; &lt;!here&gt;"
