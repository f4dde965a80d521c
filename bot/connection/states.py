"""The connection's life as data: (state, event) -> next state, and who may do it.

Nothing but `bot.store.connections.ConnectionStore.transition` applies these
rules, atomically in Redis, with an audit entry for every transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.connection.model import OPEN_STATES, State


class Event(StrEnum):
    SUBMIT_IDS = "submit_ids"
    SUBMIT_ROLE = "submit_role"
    VALIDATION_PASSED = "validation_passed"
    VALIDATION_FAILED = "validation_failed"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    EXPIRE = "expire"
    DISCONNECT = "disconnect"


class Role(StrEnum):
    """Who may cause an event."""

    REQUESTER = "requester"  # the user who started the connection
    APPROVER = "approver"  # a configured approver, never the requester (four-eyes)
    REQUESTER_OR_APPROVER = "requester_or_approver"
    SYSTEM = "system"  # the bot itself: validation results, expiry


SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Rule:
    to: State
    role: Role


_CANCELLABLE = (State.STARTED, State.AWAITING_STACK, State.VALIDATION_FAILED, State.PENDING_APPROVAL)

TRANSITIONS: dict[tuple[State, Event], Rule] = {
    (State.STARTED, Event.SUBMIT_IDS): Rule(State.AWAITING_STACK, Role.REQUESTER),
    (State.AWAITING_STACK, Event.SUBMIT_ROLE): Rule(State.VALIDATING, Role.REQUESTER),
    (State.VALIDATION_FAILED, Event.SUBMIT_ROLE): Rule(State.VALIDATING, Role.REQUESTER),
    (State.VALIDATING, Event.VALIDATION_PASSED): Rule(State.PENDING_APPROVAL, Role.SYSTEM),
    (State.VALIDATING, Event.VALIDATION_FAILED): Rule(State.VALIDATION_FAILED, Role.SYSTEM),
    (State.PENDING_APPROVAL, Event.APPROVE): Rule(State.CONNECTED, Role.APPROVER),
    (State.PENDING_APPROVAL, Event.REJECT): Rule(State.REJECTED, Role.APPROVER),
    **{(s, Event.CANCEL): Rule(State.CANCELLED, Role.REQUESTER_OR_APPROVER) for s in _CANCELLABLE},
    # A validation outliving CE_PENDING_TTL lost its job for good; left in ce:expiry unexpirable, it would be
    # handed out again at every expiry pass and crowd out the connections that can expire.
    **{(s, Event.EXPIRE): Rule(State.EXPIRED, Role.SYSTEM) for s in (*_CANCELLABLE, State.VALIDATING)},
    (State.CONNECTED, Event.DISCONNECT): Rule(State.DISCONNECTED, Role.APPROVER),
}


def sources(event: Event) -> dict[State, Rule]:
    """Every state the event may leave from, with its rule."""
    return {state: rule for (state, ev), rule in TRANSITIONS.items() if ev is event}


def claims_organization(event: Event) -> bool:
    """Entering the IDs takes the organization: at most one open or connected connection per org."""
    return event is Event.SUBMIT_IDS


def releases_organization(to: State) -> bool:
    return to.is_final


def keeps_expiry(to: State) -> bool:
    return to in OPEN_STATES
