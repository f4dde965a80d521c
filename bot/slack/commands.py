"""The `/ce` slash command.

The ack answers at once: usage, a malformed argument, or `connect` (one atomic
Redis write). The operations (`list`, `status`, `enable`, `disable`,
`disconnect`, `cancel`) ack with no Redis call at all and do their work after
the ack (`bot.slack.operations.run_command`), answering through `respond`.
"""

from __future__ import annotations

from bot.slack import operations
from bot.slack.app import after_ack, services_of
from bot.slack.command_text import parse_command
from bot.slack.views import messages

CONNECT_TARGET = "aws-org"


def register(app) -> None:
    # Only the operations have after-ack work: the rest (help, connect, unknown verbs) skip the lazy
    # listener, whose start deep-copies the whole request on the ack path.
    app.command("/ce", matchers=[is_operation])(ack=ce_command, lazy=[after_ack(operations.run_command)])
    app.command("/ce")(ce_command)


def is_operation(body) -> bool:
    """A well-formed `/ce list|status|enable|disable|disconnect|cancel …`: the commands that do something
    after the ack (a malformed one is answered in the ack)."""
    line = parse_command(body.get("text"))
    return line.verb in operations.VERBS and isinstance(operations.parse_operation(line), operations.Operation)


def reply(ack, text: str) -> None:
    """An ephemeral answer, as JSON, so only the person who typed the command sees it."""
    ack(text=text, response_type="ephemeral")


def ce_command(ack, command, context) -> None:
    line = parse_command(command.get("text"))
    if line.verb in ("", "help"):
        reply(ack, messages.usage())
    elif line.verb == "connect":
        if [a.lower() for a in line.args] != [CONNECT_TARGET]:
            reply(ack, f"To connect an AWS Organization, type `/ce connect {CONNECT_TARGET}`.")
            return
        services_of(context).flow.start(
            requester=command["user_id"],
            channel=command["channel_id"],
            response_url=command.get("response_url", ""),
        )
        ack()  # the parent message and its thread follow in a moment
    elif line.verb in operations.VERBS:
        operation = operations.parse_operation(line)
        if isinstance(operation, str):
            reply(ack, operation)  # malformed: answered here, nothing runs after the ack
        else:
            ack()  # the answer follows in a moment, through the response_url
    else:
        reply(ack, messages.usage(unknown=line.text))
