"""The `ce-bot` command: `serve` (HTTP mode), `socket` (Socket Mode), `run` (whichever fits)."""

from __future__ import annotations

import argparse
import os
import sys

from bot import config as configuration
from bot import logs
from bot.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ce-bot", description="Connect AWS Organizations to Cloud Entitlements from Slack.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="HTTP mode on $PORT: POST /slack/events, GET /healthz")
    commands.add_parser("socket", help="Socket Mode with SLACK_APP_TOKEN (no public URL needed)")
    commands.add_parser("run", help="Socket Mode or HTTP mode when Slack tokens are set, else the local playground")
    audit = commands.add_parser("audit", help="print the audit log as JSON lines, e.g. --since 2026-12-01 or --since 24h")
    audit.add_argument("--since", help="ISO date or date-time (UTC unless an offset is given), or a duration: 90s, 30m, 24h, 7d")
    audit.add_argument("--until", help="same forms as --since; default: now")
    commands.add_parser("doctor", help="check the configuration, Slack token, Redis and AWS credentials (no secret printed)")
    args = parser.parse_args(argv)
    if args.command == "audit":
        from bot import audit as audit_log

        return audit_log.main(args)
    logs.setup()  # LOG_LEVEL; CE_LOG_JSON for JSON lines; secrets masked in every record
    if args.command == "doctor":
        from bot import doctor

        return doctor.main()
    try:
        return {"serve": serve, "socket": socket_mode, "run": run}[args.command]()
    except ConfigError as error:
        print(f"ce-bot: configuration error: {error}", file=sys.stderr)
        return 2


def serve() -> int:
    import uvicorn

    from bot.runtime import Runtime
    from bot.server import create_http_app

    config = configuration.load("serve")
    runtime = Runtime(config)
    logs.instrument(runtime)
    host = os.environ.get("HOST", "0.0.0.0")
    uvicorn.run(create_http_app(runtime), host=host, port=config.port, log_level="warning", access_log=False)
    return 0


def socket_mode() -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.runtime import Runtime

    config = configuration.load("socket")
    runtime = Runtime(config)
    logs.instrument(runtime)
    runtime.start()
    try:
        SocketModeHandler(runtime.app, config.slack_app_token).start()
    finally:
        runtime.stop()
    return 0


def run() -> int:
    env = {**configuration.read_dotenv(), **os.environ}
    if env.get("SLACK_BOT_TOKEN"):
        return socket_mode() if env.get("SLACK_APP_TOKEN") else serve()
    from bot.playground.main import run_playground

    return run_playground()


if __name__ == "__main__":
    sys.exit(main())
