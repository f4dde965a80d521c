"""Builds the Bolt app: one client, one middleware, one error handler, every surface registered.

The app runs with `process_before_response=True`: a listener's `ack()` is
the HTTP response, so ack paths do only fast work (parse, at most one
atomic Redis transition). Slow work runs after the ack, either as a Bolt
lazy listener wrapped by `after_ack` (UI feedback: modals, ephemerals) or
as a durable job (`bot/slack/followups.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot.config import Config
from bot.connection.flow import ConnectionFlow
from bot.slack.approvers import Approvers
from bot.slack.command_text import parse_command
from bot.slack.views import messages
from bot.store.client import StoreUnavailable, unavailable_as_store_error
from bot.store.connections import ConnectionStore, is_connection_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What every listener needs; handed to them in `context["services"]` by middleware."""

    config: Config
    store: ConnectionStore
    flow: ConnectionFlow
    approvers: Approvers

    def __deepcopy__(self, memo) -> "Services":
        # Bolt deep-copies the context for lazy listeners; these are shared by design.
        return self


def retry_handlers() -> list:
    """429s (after Retry-After), 500/503 and connection errors are retried by the SDK."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def slack_client(config: Config) -> WebClient:
    """Every Web API call goes to SLACK_API_URL; 429s and transient errors are retried."""
    return WebClient(
        token=config.slack_bot_token or None,
        base_url=config.slack_api_url,
        timeout=10,
        retry_handlers=retry_handlers(),
    )


class RetryingRespond(Respond):
    """Bolt's `respond` (a POST to response_url) with `retry_handlers()`: Bolt's own retries only
    connection errors, so a 429 from response_url would silently lose the message."""

    def __call__(self, text="", blocks=None, attachments=None, response_type=None, replace_original=None,
                 delete_original=None, unfurl_links=None, unfurl_media=None, thread_ts=None,
                 metadata=None) -> WebhookResponse:  # fmt: skip
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        client = WebhookClient(url=self.response_url, proxy=self.proxy, ssl=self.ssl, retry_handlers=retry_handlers())
        if isinstance(text, dict):
            return client.send_dict(_build_message(**text))
        return client.send_dict(
            _build_message(text=text, blocks=blocks, attachments=attachments, response_type=response_type,
                           replace_original=replace_original, delete_original=delete_original,
                           unfurl_links=unfurl_links, unfurl_media=unfurl_media, thread_ts=thread_ts,
                           metadata=metadata)  # fmt: skip
        )


# Slack retries only Events API deliveries (X-Slack-Retry-Num); interactive payloads are not
# retried, and their state changes are atomic and tell a second click what happened. The one
# delivery that must not run twice is `/ce connect` (it creates): a captured, still-valid signed
# request replayed is recognised by its timestamp and body. Kept longer than a signature is
# valid (5 min).
DELIVERY_SEEN_FOR = 600


def delivery_key(request: BoltRequest, body: dict) -> str:
    """The key a repeated delivery is recognised by, or "" when repeating it is harmless."""
    raw = request.raw_body.encode()
    if body.get("command") and parse_command(body.get("text")).verb == "connect":
        stamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
        return "command:" + hashlib.sha256(stamp.encode() + b":" + raw).hexdigest()
    if request.headers.get("x-slack-retry-num"):
        return "retry:" + hashlib.sha256(raw).hexdigest()
    return ""


def first_delivery(store: ConnectionStore, key: str) -> bool:
    """True the first time this delivery is seen (SET NX EX); raises StoreUnavailable."""
    with unavailable_as_store_error():
        return bool(store.redis.set(f"ce:seen:{key}", "1", nx=True, ex=DELIVERY_SEEN_FOR))


def build_app(services: Services, client: WebClient) -> App:
    from bot.slack import approval, commands, home, operations, submissions, thread_actions

    secret = services.config.slack_signing_secret
    app = App(
        client=client,
        signing_secret=secret or None,
        request_verification_enabled=bool(secret),
        process_before_response=True,
        token_verification_enabled=False,  # auth.test once, on the first request, not at import
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def attach_services(context, next):
        context["services"] = services
        return next()

    @app.middleware
    def once_per_delivery(req, body, context, next):
        """Slack's retry of a delivery, or `/ce connect` replayed while its signature is valid, is
        acknowledged and not handled again. `respond` gets the SDK's retry handlers."""
        if context.response_url:
            context["respond"] = RetryingRespond(response_url=context.response_url, proxy=client.proxy, ssl=client.ssl)
        key = delivery_key(req, body) if isinstance(body, dict) else ""
        if key:
            try:
                if not first_delivery(services.store, key):
                    log.info("a delivery was handled already: acknowledged, not handled again")
                    return BoltResponse(status=200, body="")
            except StoreUnavailable as error:
                if error.maybe_applied and body.get("type") != "block_actions":
                    return report_error(error, body, log)  # Redis hangs: its listener would wait as long again
                # Redis down (fails fast): let the listener answer; some need no Redis
        return next()

    app.error(report_error)
    for surface in (commands, thread_actions, submissions, approval, operations, home):
        surface.register(app)
    return app


def user_message(error: Exception) -> str:
    if isinstance(error, StoreUnavailable):
        return messages.STORE_TIMED_OUT if error.maybe_applied else messages.STORE_UNAVAILABLE
    return messages.SOMETHING_WENT_WRONG


def report_error(error: Exception, body: dict, logger: logging.Logger) -> BoltResponse:
    """The one place an unexpected failure on an ack path becomes something the user sees."""
    if isinstance(error, StoreUnavailable):
        logger.warning("state store unavailable: %s", error)
    else:
        logger.exception("listener failed: %s", type(error).__name__)
    text = user_message(error)
    if body.get("type") == "view_submission":
        block_id = first_input_block(body.get("view", {}))
        if block_id:
            payload = {"response_action": "errors", "errors": {block_id: _plain(text)}}
            return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
    if body.get("command"):
        payload = {"response_type": "ephemeral", "text": text}
        return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
    return BoltResponse(status=200, body="")


def _plain(text: str) -> str:
    return text.replace(":warning: ", "")


def first_input_block(view: dict) -> str:
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block.get("block_id"):
            return block["block_id"]
    return ""


def after_ack(handler: Callable[..., None]) -> Callable[..., None]:
    """A lazy listener (runs after the ack, on Bolt's worker threads) whose failures reach the user.

    Handlers take exactly (body, client, context, respond).
    """

    def run(body, client, context, respond, logger):
        try:
            handler(body=body, client=client, context=context, respond=respond)
        except Exception as error:  # noqa: BLE001 - everything becomes an ephemeral message
            if isinstance(error, StoreUnavailable):
                logger.warning("state store unavailable: %s", error)
            else:
                logger.exception("after-ack listener %s failed", handler.__name__)
            tell(respond, user_message(error))

    run.__name__ = handler.__name__  # Bolt tells lazy listeners apart by name
    return run


def just_ack(ack) -> None:
    ack()


def tell(respond, text: str) -> None:
    """An ephemeral reply to whoever clicked, where they clicked."""
    try:
        answer = respond(text=text, response_type="ephemeral", replace_original=False)
        if getattr(answer, "status_code", 200) != 200:
            log.warning("could not send an ephemeral reply: response_url answered %s", answer.status_code)
    except Exception:  # noqa: BLE001 - the reply is best effort; it is logged
        log.warning("could not send an ephemeral reply", exc_info=True)


def action_connection_id(body: dict) -> str:
    """The connection ID a button carries, or "" when it isn't one."""
    actions = body.get("actions") or [{}]
    value = actions[0].get("value", "")
    return value if is_connection_id(value) else ""


def view_connection_id(view: dict) -> str:
    value = view.get("private_metadata", "")
    return value if is_connection_id(value) else ""


def services_of(context) -> Services:
    return context["services"]
