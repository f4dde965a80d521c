"""Parsing of what follows `/ce`: a verb and its arguments."""

from __future__ import annotations

from dataclasses import dataclass

MAX_TEXT = 500  # Slack allows more; nothing the bot understands is longer


@dataclass(frozen=True)
class CommandLine:
    verb: str
    args: tuple[str, ...] = ()
    text: str = ""  # the original text, cut to MAX_TEXT, for "I don't know …"


def parse_command(text: str | None) -> CommandLine:
    text = (text or "")[:MAX_TEXT]
    words = text.split()
    if not words:
        return CommandLine("", (), text)
    return CommandLine(words[0].lower(), tuple(words[1:]), text.strip())
