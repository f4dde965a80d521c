"""The `/ce` slash command.

The ack answers at once: usage, a malformed argument, or `connect` (one atomic
Redis write). The operations (`list`, `status`, `enable`, `disable`,
`disconnect`, `cancel`) are handed to the worker (one XADD) and acked; the
worker does the work (`bot.slack.operations.run_command`) and answers through
the response_url.
"""

from __future__ import annotations

from bot.slack import operations
from bot.slack.after_ack import handed_over
from bot.slack.app import services_of
from bot.slack.command_text import parse_command
from bot.slack.views import messages

CONNECT_TARGET = "aws-org"


def register(app) -> None:
    # Only the operations have after-ack work; the rest (help, connect, unknown verbs) answer in the ack.
    app.command("/ce", matchers=[is_operation])(handed_over(operations.run_command))
    app.command("/ce")(ce_command)


async def is_operation(body) -> bool:
    """A well-formed `/ce list|status|enable|disable|disconnect|cancel …`: the commands that do something
    after the ack (a malformed one is answered in the ack)."""
    line = parse_command(body.get("text"))
    return line.verb in operations.VERBS and isinstance(operations.parse_operation(line), operations.Operation)


async def reply(ack, text: str) -> None:
    """An ephemeral answer, as JSON, so only the person who typed the command sees it."""
    await ack(text=text, response_type="ephemeral")


async def ce_command(ack, command, context) -> None:
    line = parse_command(command.get("text"))
    if line.verb in ("", "help"):
        await reply(ack, messages.usage())
    elif line.verb == "connect":
        if [a.lower() for a in line.args] != [CONNECT_TARGET]:
            await reply(ack, f"To connect an AWS Organization, type `/ce connect {CONNECT_TARGET}`.")
            return
        await services_of(context).ack_flow.start(
            requester=command["user_id"],
            channel=command["channel_id"],
            response_url=command.get("response_url", ""),
        )
        await ack()  # the parent message and its thread follow in a moment
    elif line.verb in operations.VERBS:
        operation = operations.parse_operation(line)
        if isinstance(operation, str):
            await reply(ack, operation)  # malformed: answered here, nothing runs after the ack
        else:
            await ack()  # not reached: a well-formed operation is the first listener's
    else:
        await reply(ack, messages.usage(unknown=line.text))
