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


def register(router) -> None:
    router.command("/ce", ce_command)


# Only the operations have after-ack work; the rest (help, connect, unknown verbs) answer in the ack.
run_operation = handed_over(operations.run_command)


async def reply(ack, text: str) -> None:
    """An ephemeral answer, as JSON, so only the person who typed the command sees it."""
    await ack(text=text, response_type="ephemeral")


async def ce_command(ack, body, client, context) -> None:
    line = parse_command(body.get("text"))
    if line.verb in ("", "help"):
        await reply(ack, messages.usage())
    elif line.verb == "connect":
        if [a.lower() for a in line.args] != [CONNECT_TARGET]:
            await reply(ack, f"To connect an AWS Organization, type `/ce connect {CONNECT_TARGET}`.")
            return
        await services_of(context).ack_flow.start(
            requester=body["user_id"],
            channel=body["channel_id"],
            response_url=body.get("response_url", ""),
        )
        await ack()  # the parent message and its thread follow in a moment
    elif line.verb in operations.VERBS:
        operation = operations.parse_operation(line)
        if isinstance(operation, str):
            await reply(ack, operation)  # malformed: answered here, nothing runs after the ack
        else:
            await run_operation(ack=ack, body=body, client=client, context=context)
    else:
        await reply(ack, messages.usage(unknown=line.text))
