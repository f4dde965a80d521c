"""The `/ce` slash command."""

from __future__ import annotations

from bot.slack.app import services_of
from bot.slack.command_text import parse_command
from bot.slack.views import messages

CONNECT_TARGET = "aws-org"


def register(app) -> None:
    app.command("/ce")(ce_command)


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
    else:
        reply(ack, messages.usage(unknown=line.text))
