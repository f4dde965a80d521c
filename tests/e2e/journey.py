"""One person's walk through the guided connection, step by step, as Slack would carry it."""

from __future__ import annotations

from bot.playground.sandbox_stack import deploy_rendered_template
from bot.slack import ids
from tests.e2e.conftest import CHANNEL, REQUESTER

WAIT = 15.0


def has_button(message: dict, action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    )


def text_of(message: dict) -> str:
    import json

    return message.get("text", "") + json.dumps(message.get("blocks", []))


class Journey:
    def __init__(self, slack, standin, user: str = REQUESTER, channel: str = CHANNEL):
        self.slack = slack
        self.standin = standin
        self.user = user
        self.channel = channel
        self.parent_ts = ""

    # -- reading the thread ---------------------------------------------------

    def parent(self) -> dict:
        return self.standin.message(self.channel, self.parent_ts)

    def replies(self) -> list[dict]:
        return self.standin.messages(self.channel, self.parent_ts)

    def wait_reply(self, condition, what: str, timeout: float = WAIT) -> dict:
        def probe(_):
            return next((m for m in reversed(self.replies()) if condition(m)), None)

        return self.standin.wait_until(probe, timeout, f"no reply in the thread: {what}")

    def wait_parent(self, needle: str, timeout: float = WAIT) -> dict:
        return self.standin.wait_until(
            lambda _: (p := self.parent()) and needle in text_of(p) and p, timeout, f"parent never said {needle!r}"
        )

    def wait_button(self, action_id: str, timeout: float = WAIT) -> dict:
        return self.wait_reply(lambda m: has_button(m, action_id), f"a message with {action_id}", timeout)

    def modal(self, user: str | None = None) -> dict:
        views = self.standin.open_views(user or self.user)
        assert views, "no modal is open"
        return views[-1]

    # -- steps ------------------------------------------------------------------

    def start(self) -> dict:
        before = {m["ts"] for m in self.standin.messages(self.channel)}
        response = self.slack.command(self.user, "connect aws-org", channel_id=self.channel)
        assert response.status == 200, response.text

        def new_parent(_):
            return next(
                (m for m in self.standin.messages(self.channel) if m["ts"] not in before and "Connecting" in m.get("text", "")),
                None,
            )

        parent = self.standin.wait_until(new_parent, WAIT, "the parent message never appeared")
        self.parent_ts = parent["ts"]
        return parent

    def open_ids_modal(self, user: str | None = None) -> dict:
        message = self.wait_button(ids.ENTER_IDS)
        response = self.slack.click(user or self.user, message=message, action_id=ids.ENTER_IDS)
        assert response.status == 200
        return self.standin.wait_until(lambda s: s.open_views(user or self.user), WAIT, "the IDs modal never opened")[-1]

    def submit_ids(self, org_id: str, root_id: str, user: str | None = None):
        view = self.open_ids_modal(user)
        return self.slack.submit(user or self.user, view, {"Organization ID": org_id, "Root ID": root_id})

    def template(self) -> tuple[dict, bytes]:
        """The uploaded template file (waits for the console steps that follow it)."""
        self.wait_button(ids.ENTER_ROLE)
        files = [f for f in self.standin.files() if self.parent_ts in str(f)]
        assert files, "no template file was shared in the thread"
        return files[-1], self.standin.file_bytes(files[-1]["id"])

    def deployed_role(self, org_id: str, root_id: str) -> str:
        """Start, enter the IDs, deploy the shared template's stack: the role ARN to enter next."""
        self.start()
        self.submit_ids(org_id, root_id)
        _, template = self.template()
        return deploy_rendered_template(template.decode(), region="us-east-1")

    def open_role_modal(self, message: dict | None = None) -> dict:
        message = message or self.wait_button(ids.ENTER_ROLE)
        response = self.slack.click(self.user, message=message, action_id=ids.ENTER_ROLE)
        assert response.status == 200
        return self.standin.wait_until(lambda s: s.open_views(self.user), WAIT, "the role ARN modal never opened")[-1]

    def submit_role(self, role_arn: str, message: dict | None = None):
        view = self.open_role_modal(message)
        return self.slack.submit(self.user, view, {"Role ARN": role_arn})

    def checklist_done(self, timeout: float = 30.0) -> dict:
        return self.wait_reply(
            lambda m: "Validation of" in m.get("text", "") and ("passed every check" in text_of(m) or "failed." in text_of(m)),
            "a finished checklist",
            timeout,
        )

    def approval_request(self, channel: str | None = None) -> dict:
        if channel:
            return self.standin.wait_until(
                lambda s: next((m for m in s.messages(channel) if has_button(m, ids.APPROVE)), None),
                WAIT,
                "no approval request in the approval channel",
            )
        return self.wait_button(ids.APPROVE)
