"""Builds the Bolt app: its clients, the router with every surface's handlers, one error handler.

The app is Bolt's `AsyncApp` with `process_before_response=True`, served on
one event loop: a listener's `ack()` is the HTTP response, and an ack path
does only fast work, awaited: parse, at most one atomic Redis transition or
one job handed over. Everything slower runs after the ack in the worker:
clicks and commands as `interactive` jobs (`bot/slack/after_ack.py`), state
changes' follow-ups as the jobs their transition enqueued
(`bot/slack/followups.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Coroutine

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.context.respond import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse

from bot import logs
from bot.config import Config
from bot.connection.flow import ConnectionFlow
from bot.slack.approvers import Approvers
from bot.slack.command_text import parse_command
from bot.slack.response_urls import POSTER
from bot.slack.retries import async_retry_handlers, retry_handlers
from bot.slack.router import Router
from bot.slack.views import messages
from bot.slack.views.home import notice_home
from bot.slack.views.modals import notice_modal
from bot.store.ack_store import AckStore
from bot.store.client import StoreUnavailable
from bot.store.connections import ConnectionStore, is_connection_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What every listener and job handler needs; handed to listeners in `context["services"]`.

    `store` and `flow` are for the worker's threads; `ack_store` and `ack_flow` (the same flow over
    the asyncio store: its steps return awaitables) are for the ack paths on the event loop.
    """

    config: Config
    store: ConnectionStore
    flow: ConnectionFlow
    approvers: Approvers
    ack_store: AckStore
    ack_flow: ConnectionFlow


def slack_client(config: Config) -> WebClient:
    """Every Web API call goes to SLACK_API_URL; 429s and transient errors are retried."""
    return WebClient(**_web_api(config), retry_handlers=retry_handlers())


def async_slack_client(config: Config) -> AsyncWebClient:
    """The event loop's client, for the rare call an ack path makes after answering (a notice modal)."""
    return AsyncWebClient(**_web_api(config), retry_handlers=async_retry_handlers())


def _web_api(config: Config) -> dict:
    return {"token": config.slack_bot_token or None, "base_url": config.slack_api_url, "timeout": 10}


def respond_message(**fields) -> dict:
    """A message as `respond` posts it to a response_url: Bolt's shape, the fields given."""
    return _build_message(**fields)


class RetryingRespond(Respond):
    """Bolt's `respond` (a POST to response_url), sent by `response_urls.POSTER`: kept-alive HTTPS
    connections and the SDK's retry rules. Bolt's own opens a connection per message and retries only
    connection errors, so a 429 from response_url would silently lose the message."""

    def __call__(self, text="", blocks=None, attachments=None, response_type=None, replace_original=None,
                 delete_original=None, unfurl_links=None, unfurl_media=None, thread_ts=None,
                 metadata=None) -> WebhookResponse:  # fmt: skip
        if isinstance(text, dict):
            message = respond_message(**text)
        else:
            message = respond_message(text=text, blocks=blocks, attachments=attachments, response_type=response_type,
                                      replace_original=replace_original, delete_original=delete_original,
                                      unfurl_links=unfurl_links, unfurl_media=unfurl_media, thread_ts=thread_ts,
                                      metadata=metadata)  # fmt: skip
        return self.post(message)

    def post(self, message: dict, encoded: bytes | None = None) -> WebhookResponse:
        """Post a message as built (`respond_message`), with its JSON when the caller kept it."""
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        return POSTER.post(self.response_url, message, encoded=encoded, proxy=self.proxy, ssl=self.ssl)


# The one delivery that must not run twice is `/ce connect` (it creates): Slack's retry of it
# (X-Slack-Retry-Num) is signed anew, with another timestamp, and a captured request may be
# replayed while its signature is valid; both carry the command's trigger_id, unique to one
# invocation. Kept longer than a signature is valid (5 min). Events have their own check
# (`app_home_opened`, by event_id, where it runs: `bot.slack.home`); interactive payloads are not
# retried, and their state changes are atomic and tell a second click what happened.
DELIVERY_SEEN_FOR = 600


def delivery_key(request: AsyncBoltRequest, body: dict) -> str:
    """The key a `/ce connect` delivered again is recognised by, or "" for any other delivery."""
    if body.get("command") and parse_command(body.get("text")).verb == "connect":
        trigger = body.get("trigger_id")
        seen = trigger.encode() if isinstance(trigger, str) and trigger else _stamped_delivery(request, body)
        return "command:" + hashlib.sha256(seen).hexdigest()
    return ""


def _stamped_delivery(request: AsyncBoltRequest, body: dict) -> bytes:
    """Without a trigger_id: the timestamp and the bytes Slack delivered. In Socket Mode there is
    neither raw body nor timestamp (Bolt gets the envelope's payload as a dict): the payload itself."""
    stamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
    return stamp.encode() + b":" + (request.raw_body.encode() or json.dumps(body, sort_keys=True).encode())


class _TokenHeldByClient(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and, handed a client, warns that the token "will be unused":
    our client is made from that token, so the warning would greet every start for nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_TOKEN_HELD_BY_CLIENT = _TokenHeldByClient()


def build_app(services: Services, client: AsyncWebClient) -> AsyncApp:
    from bot.slack import surfaces

    logging.getLogger("slack_bolt.AsyncApp").addFilter(_TOKEN_HELD_BY_CLIENT)  # once: the same filter
    secret = services.config.slack_signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=secret or None,
        request_verification_enabled=bool(secret),
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        ssl_check_enabled=False,  # Bolt's would answer before the signature check; the router does, after it
    )

    async def before_handlers(request, body, context) -> bool:
        """Runs before every handler (inside the router's one middleware: another would cost Bolt an
        argument build per request): hands `Services` to the handler, names the request in the logs, and says False for
        a `/ce connect` delivered again (acknowledged, not handled again)."""
        context["services"] = services
        logs.identify(body)
        key = delivery_key(request, body) if isinstance(body, dict) else ""
        if key:
            try:
                if not await services.ack_store.first_sighting(key, DELIVERY_SEEN_FOR):
                    log.info("a delivery was handled already: acknowledged, not handled again")
                    logs.outcome("delivered again: not handled again")
                    return False
            except StoreUnavailable as error:
                if error.maybe_applied:
                    raise  # Redis hangs: the handler would wait as long again; the error handler answers
                # Redis down (fails fast): let the handler answer (it tells them the store is unavailable)
        return True

    @app.error
    async def on_error(error, body, logger):
        return report_error(error, body, logger, client)

    router = Router(before=before_handlers)
    for surface in surfaces.ALL:
        surface.register(router)
    router.attach(app)
    logs.scope_requests(app)
    return app


def user_message(error: Exception) -> str:
    if isinstance(error, StoreUnavailable):
        return messages.STORE_TIMED_OUT if error.maybe_applied else messages.STORE_UNAVAILABLE
    return messages.SOMETHING_WENT_WRONG


def report_error(error: Exception, body: dict, logger: logging.Logger, client: AsyncWebClient) -> BoltResponse:
    """The one place an unexpected failure on an ack path becomes something the user sees: on the
    field of a modal, in a command's answer, (a click) ephemerally where they clicked, or (the App
    Home opened) in their Home."""
    if isinstance(error, StoreUnavailable):
        logger.warning("state store unavailable: %s", error)
    else:
        logger.exception("listener failed: %s", type(error).__name__)
    logs.outcome(f"failed: {type(error).__name__}")
    text = user_message(error)
    if body.get("type") == "view_submission":
        block_id = first_input_block(body.get("view", {}))
        if block_id:
            payload = {"response_action": "errors", "errors": {block_id: _plain(text)}}
            return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
    if body.get("command"):
        payload = {"response_type": "ephemeral", "text": text}
        return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
    if body.get("type") == "block_actions":
        tell_soon(body, client, text)
    elif user := home_opener(body):
        soon(_show_in_home(user, client, text))
    return BoltResponse(status=200, body="")


def _plain(text: str) -> str:
    return text.replace(":warning: ", "")


def first_input_block(view: dict) -> str:
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block.get("block_id"):
            return block["block_id"]
    return ""


def tell(respond, text: str) -> None:
    """An ephemeral reply to whoever clicked, where they clicked (from a worker thread)."""
    try:
        answer = respond(text=text, response_type="ephemeral", replace_original=False)
        if getattr(answer, "status_code", 200) != 200:
            log.warning("could not send an ephemeral reply: response_url answered %s", answer.status_code)
    except Exception:  # noqa: BLE001 - the reply is best effort; it is logged
        log.warning("could not send an ephemeral reply", exc_info=True)


# Replies sent from the event loop after an ack; held here so they are not collected mid-flight.
_replies: set[asyncio.Task] = set()


def soon(work: Coroutine) -> None:
    """Run `work` on the event loop after the current ack has been answered."""
    task = asyncio.get_running_loop().create_task(work)
    _replies.add(task)
    task.add_done_callback(_replies.discard)


def tell_soon(body: dict, client: AsyncWebClient, text: str) -> None:
    """`tell`, from an ack path: ephemerally through the response_url, or (the App Home has none) a small modal."""
    soon(_tell(body, client, text))


async def _tell(body: dict, client: AsyncWebClient, text: str) -> None:
    try:
        url = response_url(body)
        if url:
            message = respond_message(text=text, response_type="ephemeral", replace_original=False)
            answer = await asyncio.to_thread(POSTER.post, url, message)  # rare (refusals, errors): a thread will do
            if answer.status_code != 200:
                log.warning("could not send an ephemeral reply: response_url answered %s", answer.status_code)
        elif body.get("trigger_id"):
            await client.views_open(trigger_id=body["trigger_id"], view=notice_modal("Cloud Entitlements", text))
    except Exception:  # noqa: BLE001 - the reply is best effort; it is logged
        log.warning("could not send an ephemeral reply", exc_info=True)


def home_opener(body: dict) -> str:
    """Who opened the App Home, when this is an `app_home_opened` of the Home tab; else ""."""
    event = body.get("event") if body.get("type") == "event_callback" else None
    if isinstance(event, dict) and event.get("type") == "app_home_opened" and event.get("tab") == "home":
        user = event.get("user")
        return user if isinstance(user, str) else ""
    return ""


async def _show_in_home(user: str, client: AsyncWebClient, text: str) -> None:
    try:
        await client.views_publish(user_id=user, view=notice_home(text))
    except Exception:  # noqa: BLE001 - best effort, as a reply is; it is logged
        log.warning("could not publish the App Home notice", exc_info=True)


def response_url(body: dict) -> str:
    """Where a reply to this request goes: its response_url (a modal's first, when it asked for one)."""
    if body.get("response_url"):
        return body["response_url"]
    urls = body.get("response_urls") or [{}]
    return urls[0].get("response_url", "")


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
