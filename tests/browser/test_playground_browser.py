"""The whole connection in the playground page, as two people in a real (headless) browser.

Everything goes through the page: the message box, buttons, confirm dialogs,
modals, the file's download link, the sandbox AWS panel and the user picker.
"""

from __future__ import annotations

import re

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (and apt-get install chromium)")
expect = playwright_api.expect

from bot.playground.main import APPROVER, REQUESTER

pytestmark = pytest.mark.browser


def act_as(page, user_id: str) -> None:
    page.get_by_label("Acting as").select_option(user_id)
    page.wait_for_function("id => document.body.dataset.user === id", arg=user_id)


def send(page, text: str) -> None:
    box = page.get_by_label("Message #ce-connections")
    box.fill(text)
    box.press("Enter")


def thread_pane(page):
    return page.locator("#thread-pane")


def sandbox_value(page, key: str) -> str:
    return page.locator(f'#sandbox-pane [data-copy="{key}"]').inner_text()


def paste_into(page, field, copy_button) -> str:
    """Copy from the sandbox panel with its button, paste into a field: what a person does."""
    copy_button.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    field.click()
    field.press("ControlOrMeta+v")
    return copied


def start_connection(page, screenshot=None) -> None:
    """Alex: /ce connect aws-org, then the IDs modal (a wrong ID first), then the template arrives."""
    send(page, "/ce connect aws-org")
    thread = thread_pane(page)
    thread.get_by_role("button", name="Enter organization IDs").click()

    modal = page.get_by_role("dialog", name="Organization IDs")
    org_field = modal.get_by_label("Organization ID", exact=True)
    root_field = modal.get_by_label("Root ID", exact=True)
    assert org_field.evaluate("el => el === document.activeElement"), "the modal's first field has focus"

    # Slack's client refuses empty required fields; the bot refuses a root ID where the organization ID goes.
    modal.get_by_role("button", name="Next").click()
    expect(modal.locator(".field-error").first).to_have_text("Please complete this required field.")
    org_field.fill(sandbox_value(page, "root-id"))
    paste_into(page, root_field, page.get_by_role("button", name="Copy root ID"))
    modal.get_by_role("button", name="Next").click()
    error = modal.locator(f'#{org_field.get_attribute("aria-describedby").split()[-1]}')
    expect(error).to_contain_text(re.compile("organization ID", re.I))
    expect(org_field).to_have_attribute("aria-invalid", "true")
    expect(org_field).to_be_focused()
    if screenshot:
        screenshot("modal")

    org_field.fill("")
    paste_into(page, org_field, page.get_by_role("button", name="Copy organization ID"))
    assert org_field.input_value() == sandbox_value(page, "org-id")
    modal.get_by_role("button", name="Next").click()
    modal.wait_for(state="detached")
    thread.locator(".file-card").wait_for()


def deploy_template(page, playground, *, from_thread: bool = False) -> str:
    """The file's download link serves the uploaded bytes; the sandbox deploys them (from the Sandbox AWS
    panel, or with the button next to the file in the thread); returns RoleArn."""
    thread = thread_pane(page)
    card = thread.locator(".file-card")
    name = card.locator(".file-sub").inner_text().split(" · ")[0]
    with page.expect_download() as download:
        card.get_by_role("link", name=f"Download {name}").click()
    uploaded = next(f for f in playground.standin.files() if f["name"] == name)
    assert open(download.value.path(), "rb").read() == playground.standin.file_bytes(uploaded["id"])

    sandbox = page.locator("#sandbox-pane")
    (card if from_thread else sandbox).get_by_role("button", name=f"Deploy {name} in the sandbox").click()
    sandbox.get_by_text("CREATE_COMPLETE").wait_for()
    role_arn = sandbox.locator('[data-copy="role-arn"]').inner_text()
    assert role_arn.endswith(":role/CloudEntitlementsManagementRole")
    return role_arn


def enter_role(page, button: str = "Enter the role ARN") -> None:
    thread_pane(page).get_by_role("button", name=button).last.click()
    modal = page.get_by_role("dialog", name="Role ARN")
    field = modal.get_by_label("Role ARN", exact=True)
    copied = paste_into(page, field, page.get_by_role("button", name="Copy RoleArn"))
    assert field.input_value() == copied
    assert modal.get_by_label("Region of the stack (optional)").input_value() == "us-east-1"
    modal.get_by_role("button", name="Validate").click()
    modal.wait_for(state="detached")


def confirm(page, title: str, button: str) -> None:
    dialog = page.get_by_role("alertdialog", name=title)
    dialog.get_by_role("button", name=button).click()
    dialog.wait_for(state="detached")


def test_connect_an_organization_as_requester_then_approver(page, playground, screenshot):
    act_as(page, REQUESTER)
    start_connection(page, screenshot)
    deploy_template(page, playground, from_thread=True)
    enter_role(page)

    thread = thread_pane(page)
    checklist = thread.locator("article", has_text="passed every check")
    checklist.wait_for()
    assert "❌" not in checklist.inner_text() and checklist.inner_text().count("✅") >= 8
    approval = thread.locator("article", has_text="Approval needed")
    approval.wait_for()
    assert "@Sam Okafor" in approval.inner_text(), "mentions render as names"

    # The requester may not approve their own connection: an ephemeral only they see.
    approval.get_by_role("button", name="Approve").click()
    confirm(page, "Approve this connection?", "Approve")
    refusal = thread.locator("article.ephemeral")
    refusal.wait_for()
    assert "Only visible to you" in refusal.inner_text()

    # The approver: the ephemeral is not theirs; they open Reject, change their mind, then approve.
    act_as(page, APPROVER)
    page.get_by_label("Acting as").evaluate("el => el.blur()")
    approval = thread.locator("article", has_text="Approval needed")
    approval.wait_for()
    page.wait_for_function("() => !document.querySelector('#thread-pane article.ephemeral')")
    reject = approval.get_by_role("button", name="Reject")
    reject.click()
    modal = page.get_by_role("dialog", name="Reject connection")
    modal.get_by_label("Reason", exact=True).fill("Second thoughts")
    modal.press("Escape")
    modal.wait_for(state="detached")
    assert page.evaluate("document.activeElement.textContent") == "Reject", "focus returns to the button"

    approval_ts = approval.get_attribute("data-ts")
    approval.get_by_role("button", name="Approve").click()
    confirm(page, "Approve this connection?", "Approve")
    thread.locator("article", has_text="is connected").wait_for()
    decided = thread.locator(f'article[data-ts="{approval_ts}"]')
    decided.get_by_text("Approved by").wait_for()
    assert decided.get_by_role("button").count() == 0, "the approval message lost its buttons (chat.update)"
    parent = page.locator("#channel-messages article", has_text="Connecting an AWS Organization")
    parent.get_by_text("Connected").wait_for()

    # The App Home tab: opening it sends app_home_opened; the view the bot publishes is drawn.
    org_id = sandbox_value(page, "org-id")
    page.get_by_role("button", name="ce-bot").click()
    home = page.locator("#home-pane")
    home.get_by_role("tab", name="Home").wait_for()
    expect(home.locator("#home-view")).to_contain_text(org_id)
    screenshot("home")

    # A button in the Home view (a block_actions from a view), behind a danger confirm dialog.
    home.get_by_role("button", name="Disable").click()
    confirm(page, f"Disable {org_id}?", "Disable")
    home.get_by_role("button", name="Enable").wait_for()
    expect(home.locator("#home-view")).to_contain_text("inactive")


def test_validation_failure_after_turning_off_trusted_access(page, playground, screenshot):
    act_as(page, REQUESTER)
    start_connection(page)
    deploy_template(page, playground)

    sandbox = page.locator("#sandbox-pane")
    sandbox.get_by_role("button", name="Turn off trusted access").click()
    sandbox.get_by_text("❌ Disabled").wait_for()

    enter_role(page)
    thread = thread_pane(page)
    failed = thread.locator("article", has_text="failed. Fix what is marked below")
    failed.wait_for()
    line = next(
        line for line in failed.inner_text().splitlines() if "Trusted access for StackSets is enabled" in line
    )
    assert line.startswith("❌"), line
    assert "👉" in failed.inner_text(), "the failed check says what to do"
    assert failed.get_by_role("button", name="Try another role ARN").is_visible()
    parent = page.locator("#channel-messages article", has_text="Connecting an AWS Organization")
    assert "validation failed" in parent.inner_text()
    failed.get_by_role("button", name="Try another role ARN").scroll_into_view_if_needed()
    screenshot("validation-failed")

    # Restore, try the same ARN again: it passes.
    sandbox.get_by_role("button", name="Restore").click()
    sandbox.get_by_text("✅ Enabled").wait_for()
    enter_role(page, button="Try another role ARN")
    thread.locator("article", has_text="Approval needed").wait_for()


def test_messages_render_safely(page):
    act_as(page, REQUESTER)
    send(page, '<img src=x onerror="window.__xss=1"> <!channel> *bold* _it_ `code` snake_case_name')
    message = page.locator("#channel-messages article", has_text="snake_case_name")
    message.wait_for()
    text = message.locator(".msg-text")
    assert '<img src=x onerror="window.__xss=1"> <!channel>' in text.inner_text()
    assert text.locator("img").count() == 0
    assert text.locator("strong").inner_text() == "bold"
    assert text.locator("em").inner_text() == "it"
    assert text.locator("code").inner_text() == "code"
    assert page.evaluate("window.__xss") is None

    send(page, "/ce nonsense")
    usage = page.locator("#channel-messages article.ephemeral", has_text="I don't know")
    usage.wait_for()
    assert usage.locator("code").first.inner_text() == "nonsense"
    send(page, "/deploy")
    expect(page.locator("#composer-status")).to_contain_text("/deploy is not a valid command")
