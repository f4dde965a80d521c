"""Messages of a connection's thread: the parent, each step, and the outcome."""

from __future__ import annotations

from bot.connection.model import Connection, State
from bot.slack import ids
from bot.slack.views.text import actions, button, code, confirm_dialog, context, escape, mention, section, when
from bot.template import render

TRUSTED_ACCESS_CLI = (
    "aws organizations enable-aws-service-access "
    "--service-principal member.org.stacksets.cloudformation.amazonaws.com"
)

STEP = {
    State.STARTED: ":one: Step 1 of 4 · enter the organization and root IDs",
    State.AWAITING_STACK: ":two: Step 2 of 4 · deploy the CloudFormation stack, then enter its role ARN",
    State.VALIDATING: ":three: Step 3 of 4 · validating the connection in AWS",
    State.VALIDATION_FAILED: ":three: Step 3 of 4 · validation failed: try another role ARN or start over",
    State.PENDING_APPROVAL: ":four: Step 4 of 4 · waiting for an approver",
    State.CONNECTED: ":white_check_mark: Connected",
    State.REJECTED: ":no_entry: Rejected",
    State.CANCELLED: ":heavy_multiplication_x: Cancelled",
    State.EXPIRED: ":hourglass: Expired",
    State.DISCONNECTED: ":electric_plug: Disconnected",
}


def _message(text: str, blocks: list[dict]) -> dict:
    return {"text": text, "blocks": blocks}


def parent_message(conn: Connection) -> dict:
    """The message in the channel; every step happens in its thread."""
    org = f" {code(conn.org_id)}" if conn.org_id else ""
    title = f":link: *Connecting an AWS Organization{org} to Cloud Entitlements*"
    lines = [title, f"Started by {mention(conn.requester)} {when(conn.created_at)}", f"*{STEP[conn.state]}*"]
    if conn.state is State.CONNECTED:
        lines.append(
            f"Approved by {mention(conn.decided_by)} {when(conn.decided_at)} · "
            f"{conn.account_count} accounts follow the organization's status"
        )
    elif conn.state is State.REJECTED:
        lines.append(f"Rejected by {mention(conn.decided_by)}: {code(conn.reject_reason) if conn.reject_reason else 'no reason given'}")
    elif conn.state.is_open and conn.expires_at:
        lines.append(f"Expires {when(conn.expires_at)} if not finished")
    org_id = f" {conn.org_id}" if conn.org_id else ""
    text = f"Connecting an AWS Organization{org_id}, started by {mention(conn.requester)}: {STEP[conn.state]}"
    return _message(text, [section("\n".join(lines)), context("Follow the steps in the thread :thread:")])


def prerequisites_message(conn: Connection) -> dict:
    body = (
        "*Before you start*, check these in the AWS console:\n"
        ":ballot_box_with_check: You can sign in to the organization's *management account* "
        "(the account that created the organization; the stack must be deployed there, not in a member account).\n"
        ":ballot_box_with_check: *All features* are enabled in AWS Organizations (Settings).\n"
        ":ballot_box_with_check: *Trusted access for StackSets* is on: CloudFormation → StackSets → "
        f"*Activate trusted access*, or `{TRUSTED_ACCESS_CLI}`.\n"
        ":mag: You will need the *organization ID* (`o-…`, AWS Organizations → Settings) and the *root ID* "
        "(`r-…`, AWS Organizations → AWS accounts, next to *Root*). The StackSet deploys to the root, so every "
        "account under it is covered."
    )
    return _message(
        "Before you start: management account, all features, trusted access for StackSets.",
        [
            section(body),
            actions(
                "start",
                button("Enter organization IDs", ids.ENTER_IDS, conn.id, style="primary"),
                _cancel_button(conn),
            ),
        ],
    )


def template_comment(conn: Connection) -> str:
    return (
        f"Here is the CloudFormation template for {conn.org_id}. It is made for this connection only: "
        "its ExternalId, the Cloud Entitlements account and your root ID are already filled in."
    )


def instructions_message(conn: Connection) -> dict:
    filename = render.template_filename(conn.org_id)
    command = render.create_stack_command(filename=filename, region=conn.region)
    console = f"https://console.aws.amazon.com/cloudformation/home?region={conn.region}#/stacks/create"
    steps = (
        f"*Deploy the stack in the management account* (region `{conn.region}`):\n"
        f"1. Download `{filename}` above.\n"
        f"2. Open <{console}|CloudFormation → Create stack> → *Upload a template file* → choose the file → *Next*.\n"
        f"3. *Stack name*: `{render.STACK_NAME}` (the clean-up steps name it); keep the parameters as they are → *Next* → *Next*.\n"
        "4. Tick *I acknowledge that AWS CloudFormation might create IAM resources with custom names* → *Submit*.\n"
        "5. Wait for *CREATE_COMPLETE*, open the *Outputs* tab and copy *RoleArn*.\n"
        "6. Click *Enter the role ARN* below and paste it."
    )
    return _message(
        f"Deploy {filename} in the management account, then enter the role ARN.",
        [
            section(steps),
            section(f"Or with the AWS CLI, from the folder where you saved the file:\n```{command}```"),
            context(
                "The stack creates a read-only role in the management account and a StackSet that gives every "
                "member account under the root its read-only role, now and as accounts join."
            ),
            actions(
                "role",
                button("Enter the role ARN", ids.ENTER_ROLE, conn.id, style="primary"),
                _cancel_button(conn),
            ),
        ],
    )


def cleanup_text(conn: Connection) -> str:
    """The seed's order: the StackSet (its instances first), then the stack."""
    if not conn.org_id:
        return "Nothing was deployed yet, so there is nothing to clean up."
    commands = render.cleanup_commands(region=conn.region, root_id=conn.root_id)
    return (
        "*Clean up in AWS before you start again* (order matters):\n"
        f"1. CloudFormation → StackSets → `{render.STACK_SET_NAME}`: delete its stack instances, then the StackSet.\n"
        f"2. CloudFormation → Stacks → `{render.STACK_NAME}`: delete the stack.\n"
        "```" + "\n".join(commands) + "```"
    )


def start_over_button(conn: Connection) -> dict:
    return button(
        "Start over",
        ids.START_OVER,
        conn.id,
        confirm=confirm_dialog(
            "Start over?",
            "This connection is cancelled and a new one starts in this channel. "
            "Delete the StackSet first, then the stack, before deploying the new template.",
            "Start over",
            danger=True,
        ),
    )


def _cancel_button(conn: Connection) -> dict:
    return button(
        "Cancel",
        ids.CANCEL,
        conn.id,
        confirm=confirm_dialog("Cancel this connection?", "The organization is released; nothing is connected.", "Cancel it", danger=True),
    )


def closed_notice(conn: Connection, actor: str) -> dict:
    """Posted in the thread when a connection ends without being connected."""
    if conn.state is State.CANCELLED:
        head = f":heavy_multiplication_x: {mention(actor)} cancelled this connection."
    elif conn.state is State.EXPIRED:
        head = ":hourglass: This connection expired before it was finished."
    else:
        head = f":no_entry: {mention(conn.decided_by)} rejected this connection: {code(conn.reject_reason) if conn.reject_reason else 'no reason given'}"
    again = "Type `/ce connect aws-org` to start again."
    blocks = [section(head)]
    if conn.role_arn or conn.template_file_id:
        blocks.append(section(cleanup_text(conn)))
    blocks.append(context(again))
    return _message(head, blocks)


def connected_notice(conn: Connection) -> dict:
    text = (
        f":tada: *{escape(conn.org_id)} is connected* and active, approved by {mention(conn.decided_by)}. "
        f"Its {conn.account_count} accounts follow the organization's status; "
        "they are never switched one by one."
    )
    return _message(text, [section(text)])
