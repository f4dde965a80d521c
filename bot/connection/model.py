"""The connection: one attempt to connect one AWS Organization, and its life."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    STARTED = "started"
    AWAITING_STACK = "awaiting_stack"
    VALIDATING = "validating"
    VALIDATION_FAILED = "validation_failed"
    PENDING_APPROVAL = "pending_approval"
    CONNECTED = "connected"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DISCONNECTED = "disconnected"

    @property
    def is_open(self) -> bool:
        """In flight: the organization is claimed but not yet connected."""
        return self in OPEN_STATES

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


OPEN_STATES = frozenset(
    {State.STARTED, State.AWAITING_STACK, State.VALIDATING, State.VALIDATION_FAILED, State.PENDING_APPROVAL}
)
FINAL_STATES = frozenset({State.REJECTED, State.CANCELLED, State.EXPIRED, State.DISCONNECTED})


class OrgStatus(StrEnum):
    """The Status toggle of a connected organization; member accounts follow it."""

    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class Connection:
    """A connection as stored in Redis (one hash, every value a string there)."""

    id: str
    state: State
    requester: str  # Slack user ID of whoever typed /ce connect aws-org
    channel: str  # where the parent message lives
    created_at: float
    updated_at: float
    expires_at: float = 0.0  # open connections expire; 0 once connected or final
    parent_ts: str = ""  # the parent message; every step runs in its thread
    org_id: str = ""
    root_id: str = ""
    external_id: str = ""
    stack_set_name: str = ""
    region: str = ""  # where the stack and its StackSet were deployed
    role_arn: str = ""
    management_account_id: str = ""
    template_file_id: str = ""  # the uploaded template; set once it is in the thread
    instructions_ts: str = ""  # the console steps and the role ARN button
    checklist_ts: str = ""  # the current validation checklist message in the thread
    approval_channel: str = ""
    approval_ts: str = ""
    status: str = ""  # OrgStatus once connected
    decided_by: str = ""
    decided_at: float = 0.0
    reject_reason: str = ""
    account_count: int = 0
    validated_at: float = 0.0
    last_checks: str = ""  # JSON list of the last validation's check results

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> "Connection":
        """From Redis's strings (fields it does not know are ignored)."""
        convert = _FROM_REDIS
        return cls(**{name: convert[name](raw) if name in convert else raw for name, raw in data.items() if name in FIELDS})

    def to_hash(self) -> dict[str, str]:
        return {f.name: _to_redis(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @property
    def thread_ts(self) -> str:
        return self.parent_ts


def _to_redis(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


FIELDS = frozenset(f.name for f in dataclasses.fields(Connection))
# How a field's Redis string becomes its value (others stay strings); built once, read on ack paths.
_FROM_REDIS = {
    **{f.name: (lambda raw: float(raw or 0)) for f in dataclasses.fields(Connection) if f.type == "float"},
    **{f.name: (lambda raw: int(raw or 0)) for f in dataclasses.fields(Connection) if f.type == "int"},
    "state": State,
}
