"""The Slack Web API stand-in, driven by the real slack_sdk WebClient and a real Bolt app over HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from socketserver import ThreadingMixIn
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.playground.slack_standin import SlackStandIn
from tests.support.slack_requests import SlackClientSim

CHANNEL = "C0CE"
ALICE, BOB = "U0ALICE", "U0BOB"


@pytest.fixture
def standin():
    with SlackStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def client(standin):
    return WebClient(token=standin.bot_token, base_url=standin.api_url)


def refusal(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def modal(title="Connect AWS", *, callback_id="connect", external_id=None, **extra):
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": "conn-1",
        "blocks": [
            {
                "type": "input",
                "block_id": "org",
                "label": {"type": "plain_text", "text": "Organization ID"},
                "element": {"type": "plain_text_input", "action_id": "org_id"},
            },
            {
                "type": "input",
                "block_id": "region",
                "label": {"type": "plain_text", "text": "Region"},
                "element": {
                    "type": "static_select",
                    "action_id": "region",
                    "options": [
                        {"text": {"type": "plain_text", "text": "US East"}, "value": "us-east-1"},
                        {"text": {"type": "plain_text", "text": "EU West"}, "value": "eu-west-1"},
                    ],
                    "initial_option": {"text": {"type": "plain_text", "text": "US East"}, "value": "us-east-1"},
                },
            },
        ],
        **extra,
    }
    if external_id:
        view["external_id"] = external_id
    return view


def button(action_id, value, text="Go"):
    return {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": text}}


# ---------------------------------------------------------------- the Web API


def test_auth_test_answers_what_bolt_and_slack_sdk_read(standin, client):
    answer = client.auth_test()
    assert answer["user_id"] == "U0CEBOT" and answer["bot_id"] == "B0CEBOT" and answer["team_id"] == "T0CE"
    assert answer["url"] == standin.base_url
    assert standin.api_url == standin.base_url + "api/" and standin.api_url.startswith("http://127.0.0.1:")


def test_a_wrong_or_missing_token_and_an_unknown_method_are_refused(standin):
    assert refusal(WebClient(token="xoxb-wrong", base_url=standin.api_url).auth_test) == "invalid_auth"
    assert refusal(WebClient(base_url=standin.api_url).auth_test) == "not_authed"
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    assert refusal(lambda: client.api_call("chat.teleport")) == "unknown_method"


def test_the_token_may_come_as_a_form_field_and_blocks_as_a_json_string(standin):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    body = urlencode({"token": standin.bot_token, "channel": CHANNEL, "text": "hi", "blocks": json.dumps(blocks)})
    request = urllib.request.Request(standin.api_url + "chat.postMessage", data=body.encode(), method="POST")
    answer = json.loads(urllib.request.urlopen(request).read())
    assert answer["ok"] and answer["message"]["blocks"][0]["text"]["text"] == "*hi*"
    call = standin.wait_for("chat.postMessage")
    assert call.args["blocks"][0]["type"] == "section" and "token" not in call.args


def test_messages_threads_updates_and_deletes(standin, client):
    parent = client.chat_postMessage(channel=CHANNEL, text="Connection started", blocks=[
        {"type": "actions", "elements": [button("cancel", "conn-1", "Cancel")]},
    ])
    reply = client.chat_postMessage(channel=CHANNEL, text="Step 1", thread_ts=parent["ts"])
    later = client.chat_postMessage(channel=CHANNEL, text="Step 2", thread_ts=parent["ts"])
    assert parent["channel"] == CHANNEL and parent["message"]["ts"] == parent["ts"]
    assert parent["ts"] < reply["ts"] < later["ts"] and len({parent["ts"], reply["ts"], later["ts"]}) == 3
    assert reply["message"]["thread_ts"] == parent["ts"]
    block = parent["message"]["blocks"][0]
    assert block["block_id"]  # Slack fills in a block_id

    assert [m["text"] for m in standin.messages(CHANNEL)] == ["Connection started"]
    assert [m["text"] for m in standin.messages(CHANNEL, thread_ts=parent["ts"])] == ["Step 1", "Step 2"]
    assert [m["text"] for m in standin.thread(CHANNEL, parent["ts"])] == ["Connection started", "Step 1", "Step 2"]
    assert standin.message(CHANNEL, parent["ts"])["reply_count"] == 2

    updated = client.chat_update(channel=CHANNEL, ts=reply["ts"], text="Step 1 ✓")
    assert updated["message"]["text"] == "Step 1 ✓" and updated["ts"] == reply["ts"]
    assert standin.message(CHANNEL, reply["ts"])["edited"]["user"] == "U0CEBOT"
    # blocks left out of chat.update stay; an empty list removes them
    client.chat_update(channel=CHANNEL, ts=parent["ts"], text="Connection started (again)")
    assert standin.message(CHANNEL, parent["ts"])["blocks"][0]["block_id"] == block["block_id"]
    client.chat_update(channel=CHANNEL, ts=parent["ts"], text="No buttons", blocks=[])
    assert "blocks" not in standin.message(CHANNEL, parent["ts"])

    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x")) == "message_not_found"
    typed = standin.post_as_user(CHANNEL, ALICE, "I typed this", thread_ts=parent["ts"])
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts=typed["ts"], text="x")) == "cant_update_message"

    link = client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])["permalink"]
    assert link.startswith(standin.base_url + f"archives/{CHANNEL}/p") and f"thread_ts={parent['ts']}" in link

    client.chat_delete(channel=CHANNEL, ts=later["ts"])
    assert standin.message(CHANNEL, later["ts"]) is None
    assert refusal(lambda: client.chat_postMessage(channel="nowhere", text="x")) == "channel_not_found"
    assert client.chat_postMessage(channel="#ce-connections", text="by name")["channel"] == CHANNEL
    standin.add_channel("C0OTHER", "other", bot_is_member=False)
    assert refusal(lambda: client.chat_postMessage(channel="C0OTHER", text="x")) == "not_in_channel"
    client.conversations_join(channel="C0OTHER")
    assert client.chat_postMessage(channel="C0OTHER", text="now I can")["ok"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_slack_limits_are_enforced(client):
    too_many = [{"type": "divider"} for _ in range(51)]
    assert refusal(lambda: client.chat_postMessage(channel=CHANNEL, text="x", blocks=too_many)) == "invalid_blocks"
    long_value = [{"type": "actions", "elements": [button("a", "v" * 2001)]}]
    assert refusal(lambda: client.chat_postMessage(channel=CHANNEL, text="x", blocks=long_value)) == "invalid_blocks"
    assert refusal(lambda: client.chat_postMessage(channel=CHANNEL)) == "no_text"


def test_ephemeral_messages_are_per_user_and_outside_the_channel(standin, client):
    answer = client.chat_postEphemeral(channel=CHANNEL, user=ALICE, text="Only you can see this")
    assert answer["message_ts"]
    [shown] = standin.ephemerals(ALICE)
    assert shown["text"] == "Only you can see this" and shown["channel"] == CHANNEL and shown["ts"] == answer["message_ts"]
    assert standin.ephemerals(BOB) == [] and standin.messages(CHANNEL) == []
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts=answer["message_ts"], text="x")) == "message_not_found"


# ---------------------------------------------------------------------- views


def test_views_open_needs_a_fresh_single_use_trigger(standin, client):
    trigger = standin.new_trigger_id(ALICE)
    opened = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert opened["id"].startswith("V") and opened["hash"] and opened["root_view_id"] == opened["id"]
    assert opened["callback_id"] == "connect" and opened["private_metadata"] == "conn-1"
    assert opened["title"]["text"] == "Connect AWS" and opened["blocks"][0]["block_id"] == "org"
    assert [v["id"] for v in standin.open_views(ALICE)] == [opened["id"]]

    assert refusal(lambda: client.views_open(trigger_id=trigger, view=modal())) == "exchanged_trigger_id"
    expired = standin.new_trigger_id(ALICE, age=3.5)
    assert refusal(lambda: client.views_open(trigger_id=expired, view=modal())) == "expired_trigger_id"
    assert refusal(lambda: client.views_open(trigger_id="123.456.made-up", view=modal())) == "invalid_trigger_id"
    standin.trigger_ttl = 0.05
    slow = standin.new_trigger_id(ALICE)
    time.sleep(0.1)
    assert refusal(lambda: client.views_open(trigger_id=slow, view=modal())) == "expired_trigger_id"


def test_views_refuse_what_slack_refuses(standin, client):
    def opening(view):
        return lambda: client.views_open(trigger_id=standin.new_trigger_id(ALICE), view=view)

    no_submit = modal()
    del no_submit["submit"]
    assert refusal(opening(modal(title="A title longer than twenty-four"))) == "invalid_arguments"
    assert refusal(opening(no_submit)) == "invalid_arguments"
    assert refusal(opening(modal(private_metadata="x" * 3001))) == "invalid_arguments"


def test_views_update_checks_the_hash_and_push_stops_at_three(standin, client):
    opened = client.views_open(trigger_id=standin.new_trigger_id(ALICE), view=modal(external_id="conn-1"))["view"]
    checking = modal("Checking…", external_id="conn-1")
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=checking)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert standin.view(opened["id"])["title"]["text"] == "Checking…"
    stale = lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Too late"))  # noqa: E731
    assert refusal(stale) == "hash_conflict"
    by_external = client.views_update(external_id="conn-1", view=modal("By external id", external_id="conn-1"))
    assert by_external["view"]["id"] == opened["id"]
    assert refusal(lambda: client.views_update(view_id="VNOPE", view=modal())) == "not_found"

    second = client.views_push(trigger_id=standin.new_trigger_id(ALICE), view=modal("Second"))["view"]
    assert second["previous_view_id"] == opened["id"] and second["root_view_id"] == opened["id"]
    client.views_push(trigger_id=standin.new_trigger_id(ALICE), view=modal("Third"))
    fourth = lambda: client.views_push(trigger_id=standin.new_trigger_id(ALICE), view=modal("Fourth"))  # noqa: E731
    assert refusal(fourth) == "push_limit_reached"
    assert [v["title"]["text"] for v in standin.open_views(ALICE)] == ["By external id", "Second", "Third"]


def test_views_publish_keeps_one_home_per_user(standin, client):
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your connections"}}]}
    first = client.views_publish(user_id=ALICE, view=home)["view"]
    again = client.views_publish(user_id=ALICE, view=home, hash=first["hash"])["view"]
    assert again["id"] == first["id"] and again["hash"] != first["hash"]
    assert refusal(lambda: client.views_publish(user_id=ALICE, view=home, hash=first["hash"])) == "hash_conflict"
    assert standin.home(ALICE)["hash"] == again["hash"] and standin.home(BOB) is None
    assert refusal(lambda: client.views_publish(user_id=ALICE, view=modal())) == "invalid_arguments"


# ---------------------------------------------------------------------- files


def test_files_upload_v2_lands_in_the_thread_with_its_bytes(standin, client):
    parent = client.chat_postMessage(channel=CHANNEL, text="Connection started")
    content = "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"
    uploaded = client.files_upload_v2(
        channel=CHANNEL, thread_ts=parent["ts"], content=content, filename="x.yaml", initial_comment="Deploy this"
    )
    file = uploaded["file"]
    assert file["name"] == "x.yaml" and file["filetype"] == "yaml" and file["size"] == len(content)
    assert file["shares"] == {}  # like Slack right after completion: shares come later

    [message] = standin.messages(CHANNEL, thread_ts=parent["ts"])
    assert message["text"] == "Deploy this" and message["files"][0]["id"] == file["id"]
    assert standin.file_bytes(file["id"]) == content.encode()
    info = client.files_info(file=file["id"])["file"]
    assert info["shares"]["public"][CHANNEL][0]["thread_ts"] == parent["ts"]

    upload = standin.wait_for("upload")
    assert upload.args["length"] == len(content) and upload.args["file_id"] == file["id"]
    request = urllib.request.Request(info["url_private_download"], headers={"Authorization": f"Bearer {standin.bot_token}"})
    assert urllib.request.urlopen(request).read() == content.encode()
    assert [c.method for c in standin.calls] == [
        "chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal", "files.info",
    ]
    assert refusal(lambda: client.files_info(file="FNOPE")) == "file_not_found"


def test_an_upload_url_accepts_a_multipart_form_too(standin, client):
    answer = client.files_getUploadURLExternal(filename="y.txt", length=3)
    boundary = "xyz"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"y.txt\"\r\n"
        f"Content-Type: text/plain\r\n\r\nabc\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        answer["upload_url"], data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert urllib.request.urlopen(request).read() == b"OK - 3"
    done = client.files_completeUploadExternal(files=[{"id": answer["file_id"], "title": "Y"}])
    assert done["files"][0]["title"] == "Y" and standin.file_bytes(answer["file_id"]) == b"abc"


# ----------------------------------------------------------- faults, latency


def test_a_429_with_retry_after_is_retried_by_the_rate_limit_handler(standin):
    standin.fail_next("chat.postMessage", retry_after=0)
    client = WebClient(
        token=standin.bot_token,
        base_url=standin.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel=CHANNEL, text="eventually")["ok"]
    first, second = standin.calls_to("chat.postMessage")
    assert (first.status, first.response["error"], second.status) == (429, "ratelimited", 200)
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["eventually"]


def test_without_a_retry_handler_the_429_surfaces_with_its_retry_after(standin, client):
    standin.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "7"
    standin.fail_next("chat.update", error="fatal_error", status=500, times=2)
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts="1.0", text="x")) == "fatal_error"
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts="1.0", text="x")) == "fatal_error"
    assert refusal(lambda: client.chat_update(channel=CHANNEL, ts="1.0", text="x")) == "message_not_found"


def test_a_failing_upload_url_surfaces_as_urllib_http_error_without_retries(standin):
    # slack_sdk POSTs the bytes with plain urllib: no SlackApiError, and retry handlers do not apply.
    client = WebClient(
        token=standin.bot_token, base_url=standin.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)]
    )
    standin.fail_next("upload", retry_after=0)
    with pytest.raises(urllib.error.HTTPError) as raised:
        client.files_upload_v2(channel=CHANNEL, content="a: 1", filename="x.yaml")
    assert raised.value.code == 429
    assert [(c.method, c.status) for c in standin.calls] == [("files.getUploadURLExternal", 200), ("upload", 429)]
    assert standin.files() == [] and standin.messages(CHANNEL) == []


def test_latency_delays_answers(standin, client):
    standin.set_latency(0.2)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.2
    standin.set_latency(0)


def test_wait_for_lists_recent_calls_when_nothing_matches(standin, client):
    client.chat_postMessage(channel=CHANNEL, text="something else")
    with pytest.raises(AssertionError, match="chat.postMessage"):
        standin.wait_for("views.open", timeout=0.1)
    later = threading.Timer(0.1, lambda: client.chat_postMessage(channel=CHANNEL, text="late"))
    later.start()
    call = standin.wait_for("chat.postMessage", lambda c: c.args.get("text") == "late", timeout=2)
    assert call.response["ok"]
    later.join()


# -------------------------------------------------------------- response_url


def test_response_urls_post_ephemeral_in_channel_replace_and_delete(standin, client):
    url = standin.new_response_url(CHANNEL, ALICE)
    WebhookClient(url).send(text="Working on it")
    assert standin.ephemerals(ALICE)[-1]["text"] == "Working on it"
    WebhookClient(url).send(text="Everyone sees this", response_type="in_channel")
    assert standin.messages(CHANNEL)[-1]["text"] == "Everyone sees this"
    post = standin.wait_for_response(lambda r: r.payload.get("response_type") == "in_channel")
    assert (post.channel, post.user, post.outcome["action"]) == (CHANNEL, ALICE, "in_channel")

    ephemeral_ts = standin.ephemerals(ALICE)[0]["ts"]
    from_ephemeral = standin.new_response_url(CHANNEL, ALICE, message_ts=ephemeral_ts, is_ephemeral=True)
    WebhookClient(from_ephemeral).send(text="Replaced", replace_original=True)
    assert [m["text"] for m in standin.ephemerals(ALICE)] == ["Replaced"]

    parent = client.chat_postMessage(channel=CHANNEL, text="Approve?")
    from_message = standin.new_response_url(CHANNEL, BOB, message_ts=parent["ts"])
    WebhookClient(from_message).send_dict({"delete_original": True})
    assert standin.message(CHANNEL, parent["ts"]) is None
    assert WebhookClient(standin.base_url + "actions/T0CE/1/nope").send(text="x").status_code == 404


# --------------------------------------------------------------------- model


def test_directory_methods_and_a_json_snapshot(standin, client):
    standin.add_user(ALICE, "alice", real_name="Alice Liddell", email="alice@example.com")
    standin.set_usergroup("S0APPROVERS", [ALICE, BOB], handle="ce-approvers")
    assert client.users_info(user=ALICE)["user"]["profile"]["email"] == "alice@example.com"
    assert client.users_info(user=BOB)["user"]["name"] == "u0bob"  # well-formed IDs exist on sight
    assert refusal(lambda: client.users_info(user="nobody")) == "user_not_found"
    assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == [ALICE, BOB]
    assert refusal(lambda: client.usergroups_users_list(usergroup="S0NOPE")) == "no_such_subteam"
    assert client.conversations_info(channel=CHANNEL)["channel"]["name"] == "ce-connections"
    joined = client.conversations_join(channel=CHANNEL)
    assert joined["channel"]["is_member"] and joined["warning"] == "already_in_channel"

    dm = client.chat_postMessage(channel=ALICE, text="A DM")
    assert dm["channel"].startswith("D")
    client.views_open(trigger_id=standin.new_trigger_id(ALICE), view=modal())
    client.files_upload_v2(channel=CHANNEL, content=b"\x00\x01", filename="bin.dat")
    snapshot = json.loads(json.dumps(standin.snapshot()))
    assert {c["info"]["id"] for c in snapshot["channels"]} >= {CHANNEL, dm["channel"]}
    assert snapshot["views"][ALICE][0]["callback_id"] == "connect" and snapshot["files"][0]["size"] == 2
    assert json.loads(urllib.request.urlopen(standin.base_url + "_standin/snapshot").read())["team"]["id"] == "T0CE"
    standin.reset(workspace=True)
    assert standin.calls == [] and standin.messages(CHANNEL) == [] and standin.open_views(ALICE) == []
    assert client.users_info(user=ALICE)["user"]["real_name"] == "Alice Liddell"


# ------------------------------------------------------- a real Bolt app, over HTTP

SIGNING_SECRET = "test-signing-secret"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def build_app(standin: SlackStandIn, received: dict) -> App:
    # Bolt takes the token from the client; passing token= as well would be ignored with a warning.
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    app = App(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @app.command("/ce")
    def command(ack, body, command, client):
        if command["text"] == "connect":
            ack()
            view = modal(notify_on_close=True)
            view["blocks"].append({"type": "actions", "block_id": "tools", "elements": [button("lookup", "org", "Look up")]})
            client.views_open(trigger_id=body["trigger_id"], view=view)
        else:
            ack(text="Starting a connection…")
            client.chat_postMessage(
                channel=command["channel_id"],
                text="Connection started",
                blocks=[
                    {"type": "section", "text": {"type": "mrkdwn", "text": "Connection started"}},
                    {"type": "actions", "block_id": "controls", "elements": [button("cancel", "conn-1", "Cancel")]},
                ],
            )

    @app.action("cancel")
    def cancel(ack, body, action, client, respond):
        ack()
        received["action"] = action
        received["container"] = body["container"]
        client.chat_update(
            channel=body["channel"]["id"], ts=body["message"]["ts"], text=f"Cancelled by <@{body['user']['id']}>", blocks=[]
        )
        respond(text="You cancelled it", blocks=[{"type": "actions", "elements": [button("undo", "conn-1", "Undo")]}])

    @app.action("undo")
    def undo(ack, body, respond):
        ack()
        received["undo"] = body
        respond(replace_original=True, text="Undone")

    @app.action("lookup")
    def lookup(ack, body, client):
        ack()
        view = body["view"]
        received["lookup_state"] = view["state"]["values"]
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Looked up", notify_on_close=True))

    @app.view_closed("connect")
    def closed(ack, body):
        ack()
        received["closed"] = body

    @app.event("app_home_opened")
    def home_opened(event, client):
        received.setdefault("home_opened", []).append(event["user"])
        home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your connections"}}]}
        client.views_publish(user_id=event["user"], view=home)

    @app.view("connect")
    def submitted(ack, view):
        values = view["state"]["values"]
        organization = values["org"]["org_id"]["value"]
        if not organization.startswith("o-"):
            ack(response_action="errors", errors={"org": "An organization ID starts with o-"})
            return
        ack()
        region = values["region"]["region"]["selected_option"]["value"]
        received["submitted"] = (organization, region, view["private_metadata"])

    return app


@pytest.fixture
def bolt_url(standin):
    received: dict = {}
    app = build_app(standin, received)
    server = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_a_bolt_app_receives_commands_clicks_and_submissions(standin, bolt_url):
    url, received = bolt_url
    slack = SlackClientSim(url, SIGNING_SECRET, standin)

    started = slack.command(ALICE, "start")
    assert started.status == 200
    assert standin.ephemerals(ALICE)[-1]["text"] == "Starting a connection…"  # the ack body, shown by Slack
    [posted] = standin.messages(CHANNEL)
    clicked = slack.click(BOB, message=posted, action_id="cancel")
    assert clicked.status == 200
    assert received["action"]["value"] == "conn-1" and received["action"]["block_id"] == "controls"
    assert received["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": CHANNEL, "is_ephemeral": False}
    assert standin.message(CHANNEL, posted["ts"])["text"] == f"Cancelled by <@{BOB}>"
    assert standin.wait_for_response().payload["text"] == "You cancelled it"
    [ephemeral] = standin.ephemerals(BOB)
    assert ephemeral["text"] == "You cancelled it"
    assert slack.click(BOB, message=ephemeral, action_id="undo").status == 200
    assert received["undo"]["container"]["is_ephemeral"] and "message" not in received["undo"]  # as Slack sends it
    assert [m["text"] for m in standin.ephemerals(BOB)] == ["Undone"]

    assert slack.command(ALICE, "connect").status == 200
    [view] = standin.open_views(ALICE)
    refused = slack.submit(ALICE, view, {"Organization ID": "123"})
    assert refused.json() == {"response_action": "errors", "errors": {"org": "An organization ID starts with o-"}}
    assert standin.view_errors(view["id"]) == {"org": "An organization ID starts with o-"}
    assert standin.open_views(ALICE)[0]["id"] == view["id"]
    accepted = slack.submit(ALICE, standin.open_views(ALICE)[0], {"org": "o-abc123", "Region": "EU West"})
    assert accepted.status == 200
    assert received["submitted"] == ("o-abc123", "eu-west-1", "conn-1")
    assert standin.open_views(ALICE) == []  # an empty ack closes the modal


def test_the_simulator_refuses_what_slacks_client_would_not_send(standin, bolt_url):
    url, _ = bolt_url
    slack = SlackClientSim(url, SIGNING_SECRET, standin)
    slack.command(ALICE, "connect")
    [view] = standin.open_views(ALICE)
    with pytest.raises(AssertionError, match="Organization ID"):
        slack.submit(ALICE, view, {})
    with pytest.raises(AssertionError, match="no input"):
        slack.submit(ALICE, view, {"Account": "1"})
    with pytest.raises(AssertionError, match="no element"):
        slack.click(ALICE, view=view, action_id="nope")


def test_forged_and_stale_requests_get_401(standin, bolt_url):
    url, _ = bolt_url
    slack = SlackClientSim(url, SIGNING_SECRET, standin)
    body = urlencode({"command": "/ce", "text": "start", "user_id": ALICE, "channel_id": CHANNEL}).encode()
    form = "application/x-www-form-urlencoded"
    assert slack.signed_post(body, form, secret="not-the-secret").status == 401
    assert slack.signed_post(body, form, timestamp=int(time.time()) - 301).status == 401
    assert slack.signed_post(body, form, headers={"X-Slack-Signature": None}).status == 401
    assert standin.calls_to("chat.postMessage") == []


def test_a_bolt_app_gets_clicks_in_a_modal_its_closing_and_events(standin, bolt_url):
    url, received = bolt_url
    slack = SlackClientSim(url, SIGNING_SECRET, standin)
    slack.command(ALICE, "connect")
    [view] = standin.open_views(ALICE)
    assert slack.click(ALICE, view=view, action_id="lookup").status == 200
    assert received["lookup_state"]["region"]["region"]["selected_option"]["value"] == "us-east-1"  # initial option
    [updated] = standin.open_views(ALICE)
    assert updated["title"]["text"] == "Looked up" and updated["id"] == view["id"] and updated["hash"] != view["hash"]

    closed = slack.close(ALICE, updated)
    assert closed is not None and closed.status == 200
    assert received["closed"]["type"] == "view_closed" and received["closed"]["view"]["id"] == view["id"]
    assert standin.open_views(ALICE) == []

    assert slack.home_opened(ALICE).status == 200
    assert standin.home(ALICE)["blocks"][0]["text"]["text"] == "Your connections"
    opened = {"type": "app_home_opened", "user": BOB, "tab": "home", "event_ts": "1.0"}
    again = slack.event(opened, retry_num=1, retry_reason="http_timeout")
    assert again.status == 200 and received["home_opened"] == [ALICE, BOB]
