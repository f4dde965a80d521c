"""Configuration: read and validated once at start-up into one object.

A missing or invalid value stops start-up with one line naming the variable
(`ConfigError`). Values come from the environment; a `.env` file in the
working folder is read too (the environment wins).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from bot.connection.regions import is_region_name

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SLACK_USER_OR_GROUP = re.compile(r"[UWS][A-Z0-9]{2,}")
SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}")
DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Config:
    trusted_account_id: str
    approvers: frozenset[str]  # Slack user IDs (U…, W…) and user-group IDs (S…)
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    redis_url: str = ""  # empty: an embedded Redis under data_dir
    approval_channel: str = ""  # empty: approval requests go to the connection's thread
    allow_self_approval: bool = False
    pending_ttl: float = 24 * 3600
    recheck_interval: float = 6 * 3600
    aws_region: str = "us-east-1"  # where the stack is suggested to be deployed
    assume_role_timeout: float = 60.0  # a new role takes time to propagate in IAM
    data_dir: Path = field(default_factory=lambda: Path(".ce-bot"))
    port: int = 3000
    log_json: bool = False

    @property
    def user_approvers(self) -> frozenset[str]:
        return frozenset(a for a in self.approvers if not a.startswith("S"))

    @property
    def group_approvers(self) -> frozenset[str]:
        return frozenset(a for a in self.approvers if a.startswith("S"))


def read_dotenv(path: Path = Path(".env")) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def environment() -> dict[str, str]:
    """The process's environment over the working folder's `.env`: what every `ce-bot` command reads."""
    return {**read_dotenv(), **os.environ}


def load(mode: str, environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration for a run mode: "serve" (HTTP), "socket", "worker" or "playground".

    `environ`, when given, is the whole configuration (the playground configures its bot so): no
    `.env` is read under it."""
    env = environment() if environ is None else dict(environ)

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def require(name: str, hint: str) -> str:
        value = get(name)
        if not value:
            raise ConfigError(name, f"is not set ({hint})")
        return value

    if mode in ("serve", "socket", "worker"):
        token = require("SLACK_BOT_TOKEN", "the bot token, xoxb-…")
        if not token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
    if mode == "serve":
        require("SLACK_SIGNING_SECRET", "Basic Information → Signing Secret in the Slack app settings")
    if mode == "socket":
        if not require("SLACK_APP_TOKEN", "an app-level token, xapp-…, for Socket Mode").startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")

    trusted = require("CE_TRUSTED_ACCOUNT_ID", "the 12-digit Cloud Entitlements AWS account ID")
    if not re.fullmatch(r"\d{12}", trusted):
        raise ConfigError("CE_TRUSTED_ACCOUNT_ID", "must be a 12-digit AWS account ID")

    approvers = frozenset(a for a in re.split(r"[\s,]+", get("CE_APPROVERS")) if a)
    if not approvers:
        raise ConfigError("CE_APPROVERS", "is not set (Slack user IDs U… or user-group IDs S…, comma-separated)")
    bad = sorted(a for a in approvers if not SLACK_USER_OR_GROUP.fullmatch(a))
    if bad:
        raise ConfigError("CE_APPROVERS", f"{bad[0]!r} is not a Slack user ID (U…/W…) or user-group ID (S…)")

    channel = get("CE_APPROVAL_CHANNEL")
    if channel and not SLACK_CHANNEL.fullmatch(channel):
        raise ConfigError("CE_APPROVAL_CHANNEL", "must be a Slack channel ID such as C0123456789")

    api_url = get("SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL
    if not re.match(r"https?://", api_url):
        raise ConfigError("SLACK_API_URL", "must be an http(s) URL")
    if not api_url.endswith("/"):
        api_url += "/"

    redis_url = get("REDIS_URL")
    if redis_url and not re.match(r"(rediss?|unix)://", redis_url):
        raise ConfigError("REDIS_URL", "must start with redis://, rediss:// or unix://")

    region = get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-east-1"
    if not is_region_name(region):
        raise ConfigError("AWS_REGION", f"{region[:40]!r} is not an AWS region name such as us-east-1")

    port_text = get("PORT", "3000") or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError("PORT", "must be a TCP port number")

    return Config(
        trusted_account_id=trusted,
        approvers=approvers,
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=api_url,
        redis_url=redis_url,
        approval_channel=channel,
        allow_self_approval=_flag(get, "CE_ALLOW_SELF_APPROVAL"),
        pending_ttl=_duration(get, "CE_PENDING_TTL", 24 * 3600),
        recheck_interval=_duration(get, "CE_RECHECK_INTERVAL", 6 * 3600),
        aws_region=region,
        assume_role_timeout=_duration(get, "CE_ASSUME_ROLE_TIMEOUT", 60),
        data_dir=Path(get("CE_DATA_DIR") or ".ce-bot"),
        port=int(port_text),
        log_json=_flag(get, "CE_LOG_JSON"),
    )


def _flag(get, name: str) -> bool:
    value = get(name).lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(name, "must be true or false")


def _duration(get, name: str, default: float) -> float:
    """Seconds, or a number with a unit: 90s, 30m, 24h, 2d."""
    text = get(name).lower()
    if not text:
        return float(default)
    match = DURATION.fullmatch(text)
    if not match or float(match["n"]) <= 0:
        raise ConfigError(name, "must be a positive duration such as 3600, 30m, 24h or 2d")
    return float(match["n"]) * UNIT_SECONDS[match["unit"]]
