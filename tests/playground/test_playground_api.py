"""The playground end to end through its own HTTP API (the endpoints the page's script calls).

Each test starts the whole playground in this process on free ports, as `make run`
does: a moto server with a sandbox organization, the Slack stand-in, the real bot
(signed requests, embedded Redis) and the page server. Nothing reaches into the bot.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from bot.playground.browser_client import (
    PlaygroundApiError,
    PlaygroundClient,
    find,
    has_action,
    text_of,
    thread,
    top_level,
    top_view,
)
from bot.playground.main import APPROVER, BYSTANDER, REQUESTER, Playground
from tests.support.bot_server import free_port

PARENT = "Connecting an AWS Organization"
FAILED = "Fix what is marked below"  # the checklist's head once validation failed


@pytest.fixture
def playground(tmp_path):
    with Playground(port=0, data_dir=tmp_path / "data", assume_role_timeout="1") as running:
        yield running


@pytest.fixture
def client(playground):
    return PlaygroundClient(playground.local_url)


def start_connection(client: PlaygroundClient) -> tuple[dict, dict]:
    """Alex types /ce connect aws-org and enters the sandbox's IDs; returns (parent, template file)."""
    alex = client.as_user(REQUESTER)
    assert alex.command("/ce connect aws-org")["ok"]
    parent = alex.wait_for(lambda s: find(top_level(s), PARENT), message="the connection's parent message")
    prerequisites = alex.wait_for(lambda s: find(thread(s, parent["ts"]), "Before you start"))
    assert alex.click(prerequisites, "ce_enter_ids")["ok"]
    modal = alex.wait_for(top_view, message="the IDs modal")
    assert modal["title"]["text"] == "Organization IDs"
    sandbox = client.sandbox()
    answer = alex.submit(modal, {"Organization ID": sandbox["organization_id"], "Root ID": sandbox["root_id"]})
    assert answer == {"ok": True, "errors": {}, "sent": True, "status": 200, "ms": answer["ms"]}
    template = alex.wait_for(
        lambda s: next((m for m in thread(s, parent["ts"]) if m.get("files")), None), message="the uploaded template"
    )
    alex.wait_for(lambda s: find(thread(s, parent["ts"]), "Enter the role ARN"), message="the deploy instructions")
    assert not alex.state()["views"], "the modal closed after a good submission"
    return parent, template["files"][0]


def enter_role(client: PlaygroundClient, parent: dict, role_arn: str, *, button: str = "Enter the role ARN") -> None:
    alex = client.as_user(REQUESTER)
    message = alex.wait_for(
        lambda s: next(
            (m for m in reversed(thread(s, parent["ts"])) if button in text_of(m) and has_action(m, "ce_enter_role")),
            None,
        )
    )
    assert alex.click(message, "ce_enter_role")["ok"]
    modal = alex.wait_for(top_view, message="the role ARN modal")
    assert modal["title"]["text"] == "Role ARN"
    assert alex.submit(modal, {"Role ARN": role_arn})["ok"]


def checklist(client: PlaygroundClient, user: str, parent: dict, outcome: str) -> dict:
    return client.as_user(user).wait_for(
        lambda s: next(
            (m for m in thread(s, parent["ts"]) if m.get("text", "").startswith("Validation of") and outcome in text_of(m)),
            None,
        ),
        timeout=20,
        message=f"a checklist saying {outcome!r}",
    )


def check_line(message: dict, title: str) -> str:
    """The checklist's line for one check: its icon, title, what was found and the fix."""
    lines = text_of(message).splitlines()
    return next(line for line in lines if f"*{title}" in line)


def test_connect_an_organization_as_requester_then_approver(playground, client):
    boot = client.bootstrap()
    assert [(p["id"], p["role"]) for p in boot["people"]] == [
        (REQUESTER, "requester"),
        (APPROVER, "approver"),
        (BYSTANDER, "bystander"),
    ]
    assert boot["approvers"] == [APPROVER]

    # A wrong ID is refused on its field, in the modal, and nothing changes.
    alex = client.as_user(REQUESTER)
    alex.command("/ce connect aws-org")
    parent = alex.wait_for(lambda s: find(top_level(s), PARENT))
    prerequisites = alex.wait_for(lambda s: find(thread(s, parent["ts"]), "Before you start"))
    alex.click(prerequisites, "ce_enter_ids")
    modal = alex.wait_for(top_view)
    sandbox = client.sandbox()
    refused = alex.submit(modal, {"Organization ID": sandbox["root_id"], "Root ID": sandbox["root_id"]})
    assert not refused["ok"] and "organization_id" in refused["errors"]
    state = alex.state()
    assert state["views"][-1]["id"] == modal["id"], "the modal stays open"
    assert state["view_errors"][modal["id"]] == refused["errors"]
    # Slack's client refuses an empty required field without asking the app.
    empty = alex.submit(modal, {"Organization ID": "", "Root ID": sandbox["root_id"]})
    assert empty["sent"] is False and empty["errors"] == {"organization_id": "Please complete this required field."}
    assert alex.submit(modal, {"Organization ID": sandbox["organization_id"], "Root ID": sandbox["root_id"]})["ok"]

    # The template arrives as a file in the thread; the page's link serves exactly the uploaded bytes.
    template = alex.wait_for(lambda s: next((m for m in thread(s, parent["ts"]) if m.get("files")), None))["files"][0]
    assert template["name"] == f"cloud-entitlements-{sandbox['organization_id']}.yaml"
    downloaded = client.download(template)
    assert downloaded == playground.standin.file_bytes(template["id"])
    assert sandbox["root_id"].encode() in downloaded

    # Deploy it in the sandbox, as in the console; the stack holds exactly that template.
    deployed = client.deploy(template["id"])
    assert deployed["stack_status"] == "CREATE_COMPLETE"
    assert deployed["deployment"]["file_id"] == template["id"]
    role_arn = deployed["deployment"]["role_arn"]
    assert role_arn == f"arn:aws:iam::{sandbox['management_account_id']}:role/CloudEntitlementsManagementRole"
    assert deployed["management_role"] == role_arn
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    assert cloudformation.get_template(StackName="cloud-entitlements")["TemplateBody"] == downloaded.decode()

    enter_role(client, parent, role_arn)
    passed = checklist(client, REQUESTER, parent, "passed every check")
    assert ":x:" not in text_of(passed)
    approval = alex.wait_for(lambda s: find(thread(s, parent["ts"]), "Approval needed"), timeout=15)
    assert has_action(approval, "ce_approve") and has_action(approval, "ce_reject")

    # Four eyes: the requester's click is refused, in a message only they see.
    assert alex.click(approval, "ce_approve")["ok"]
    refusal = alex.wait_for(lambda s: next((m for m in s["ephemerals"] if m.get("thread_ts") == parent["ts"]), None))
    jordan = client.as_user(BYSTANDER)
    assert refusal["ts"] not in {m["ts"] for m in jordan.state()["ephemerals"]}

    # The approver opens the Reject modal, thinks again, closes it, and approves.
    sam = client.as_user(APPROVER)
    assert sam.click(approval, "ce_reject")["ok"]
    reject_modal = sam.wait_for(top_view, message="the reject modal")
    assert reject_modal["title"]["text"] == "Reject connection"
    assert not alex.state()["views"], "only the approver sees the approver's modal"
    sam.close(reject_modal)
    assert not sam.state()["views"]
    assert sam.click(approval, "ce_approve")["ok"]
    done = sam.wait_for(lambda s: find(thread(s, parent["ts"]), "is connected"), timeout=15)
    assert f"<@{APPROVER}>" in text_of(done)

    # Messages were updated in place: the approval lost its buttons, the parent says Connected.
    state = jordan.state()
    decided = next(m for m in state["messages"] if m["ts"] == approval["ts"])
    assert not has_action(decided, "ce_approve") and "Approved by" in text_of(decided)
    assert "Connected" in text_of(next(m for m in state["messages"] if m["ts"] == parent["ts"]))

    # The Home tab: opening it reaches the bot as app_home_opened (the bot may not publish one yet).
    assert sam.open_home()["sent"] is True


def test_validation_fails_when_trusted_access_is_off_then_passes_after_restore(playground, client):
    parent, template = start_connection(client)
    role_arn = client.deploy(template["id"])["deployment"]["role_arn"]
    broken = client.break_trusted_access()
    assert broken["trusted_access"] is False

    enter_role(client, parent, role_arn)
    failed = checklist(client, REQUESTER, parent, FAILED)
    assert check_line(failed, "Trusted access for StackSets").startswith(":x:")
    assert check_line(failed, "Organization ID matches").startswith(":white_check_mark:")
    assert has_action(failed, "ce_enter_role"), "it offers to try another role ARN"
    assert has_action(failed, "ce_start_over")
    parent_now = next(m for m in client.as_user(REQUESTER).state()["messages"] if m["ts"] == parent["ts"])
    assert "validation failed" in text_of(parent_now)

    restored = client.restore()
    assert restored["trusted_access"] is True and restored["management_role"] == role_arn
    enter_role(client, parent, role_arn, button="Try another role ARN")
    checklist(client, REQUESTER, parent, "passed every check")


def test_a_deleted_role_fails_the_assume_role_check(playground, client):
    parent, template = start_connection(client)
    role_arn = client.deploy(template["id"])["deployment"]["role_arn"]
    assert client.delete_role()["management_role"] == ""
    enter_role(client, parent, role_arn)
    failed = checklist(client, REQUESTER, parent, FAILED)
    assert check_line(failed, "Assume the role with the ExternalId").startswith(":x:")

    # Restoring deploys the same template again: the same ARN works.
    assert client.restore()["management_role"] == role_arn


def test_redeploying_replaces_the_previous_stack(playground, client):
    _, template = start_connection(client)
    first = client.deploy(template["id"])
    second = client.deploy(template["id"])
    assert second["stack_status"] == "CREATE_COMPLETE"
    assert second["deployment"]["role_arn"] == first["deployment"]["role_arn"]
    stacks = boto3.client("cloudformation", region_name="us-east-1").list_stacks(StackStatusFilter=["CREATE_COMPLETE"])
    assert [s["StackName"] for s in stacks["StackSummaries"]] == ["cloud-entitlements"]


def test_messages_commands_and_refusals(playground, client):
    alex = client.as_user(REQUESTER)
    help_answer = alex.command("/ce help")
    assert help_answer["ok"]
    usage = alex.wait_for(lambda s: find(s["ephemerals"], "/ce connect aws-org"))
    assert usage["ts"] not in {m["ts"] for m in client.state(APPROVER)["ephemerals"]}

    assert alex.command("/deploy now") == {"ok": False, "kind": "command", "error": "/deploy is not a valid command. Try /ce help."}

    posted = alex.command("<!channel> <b>hi</b> & bye")
    assert posted["kind"] == "message"
    message = next(m for m in client.state(BYSTANDER)["messages"] if m["ts"] == posted["ts"])
    assert message["text"] == "&lt;!channel&gt; &lt;b&gt;hi&lt;/b&gt; &amp; bye" and message["user"] == REQUESTER

    with pytest.raises(PlaygroundApiError) as unknown:
        client.post("/api/command", {"user": "U0NOBODY", "text": "/ce help"})
    assert unknown.value.status == 400

    request = urllib.request.Request(
        playground.local_url + "/api/command", data=b"user=U0PGALEX&text=/ce+help", method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with pytest.raises(urllib.error.HTTPError) as form:
        urllib.request.urlopen(request, timeout=5)
    assert form.value.code == 415

    request = urllib.request.Request(playground.local_url + "/api/bootstrap", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as foreign:
        urllib.request.urlopen(request, timeout=5)
    assert foreign.value.code == 403


def test_the_page_and_its_assets_are_served(playground):
    with urllib.request.urlopen(playground.local_url + "/", timeout=5) as page:
        html = page.read().decode()
    assert '<script src="/static/playground.js"' in html and 'for="user-picker"' in html
    for asset, kind in (("playground.js", "text/javascript"), ("playground.css", "text/css")):
        with urllib.request.urlopen(f"{playground.local_url}/static/{asset}", timeout=5) as answer:
            assert answer.headers.get_content_type() == kind
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(playground.local_url + "/static/../main.py", timeout=5)


def test_state_long_polls_until_something_changes(playground, client):
    first = client.state(REQUESTER)
    started = time.monotonic()
    same = client.state(REQUESTER, etag=first["etag"], wait=0.5)
    assert same["etag"] == first["etag"] and time.monotonic() - started >= 0.4
    client.as_user(REQUESTER).command("/ce connect aws-org")
    changed = client.state(REQUESTER, etag=first["etag"], wait=5)
    assert changed["etag"] != first["etag"]


def test_stop_restores_the_environment(tmp_path):
    before = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    with Playground(port=0, data_dir=tmp_path / "data") as running:
        assert os.environ["AWS_ENDPOINT_URL"] == running.moto_url
    assert {k: os.environ.get(k) for k in before} == before


def ce_bot_run(cwd, port: int, data_dir) -> subprocess.Popen:
    """`ce-bot run` without tokens, as `make run` starts it, in a session of its own (a terminal's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AWS_", "CE_", "REDIS_"))}
    env.update({"PORT": str(port), "CE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['run']))"],
        cwd=cwd,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def processes_mentioning(text: str) -> list[str]:
    """The command lines of running processes that name `text` (the embedded Redis names its folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
def test_ce_bot_run_without_tokens_prints_one_line_and_stops_everything(tmp_path, stop):
    port = free_port()
    process = ce_bot_run(tmp_path, port, tmp_path / "data")
    try:
        line = process.stdout.readline()
        assert line == f"http://localhost:{port}\n", process.stderr.read() if not line else line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/bootstrap", timeout=5) as answer:
            assert json.loads(answer.read())["channel"]["name"] == "ce-connections"
        assert processes_mentioning(str(tmp_path / "data")), "the embedded Redis runs"
        os.killpg(process.pid, stop)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == "", "exactly one line on stdout"
        errors = process.stderr.read()
        assert "Traceback" not in errors, errors
        assert not processes_mentioning(str(tmp_path / "data")), "the embedded Redis stopped with it"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_run_prints_only_the_address(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AWS_", "CE_", "REDIS_", "MAKE", "MFLAGS"))}
    if subprocess.run(["make", "-q", ".venv/.installed"], cwd=repo, env=env).returncode != 0:
        pytest.skip("this checkout's .venv is not installed: make run would install it first")
    port = free_port()
    env.update({"PORT": str(port), "CE_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"})
    process = subprocess.Popen(["make", "run"], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)  # fmt: skip
    try:
        assert process.stdout.readline() == f"http://localhost:{port}\n"
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
        assert process.stdout.read() == "", "one line on stdout"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_second_playground_in_the_same_folder_says_so_in_one_line(tmp_path):
    first = ce_bot_run(tmp_path, free_port(), tmp_path / "data")
    try:
        assert first.stdout.readline().startswith("http://localhost:")
        second = ce_bot_run(tmp_path, free_port(), tmp_path / "data")
        out, errors = second.communicate(timeout=30)
        assert second.returncode != 0 and out == ""
        assert "Traceback" not in errors and len(errors.strip().splitlines()) == 1, errors
        assert "another playground" in errors and "CE_DATA_DIR" in errors, errors
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(timeout=20)


def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    from bot.playground.main import PlaygroundError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        playground = Playground(port=port, data_dir=tmp_path / "data")
        with pytest.raises(PlaygroundError, match=f"port {port} is in use.*PORT"):
            playground.start()
    assert playground.standin is None and playground.moto_url == "", "nothing else was started"
