"""Connections in Redis. `ConnectionStore.transition` is the only writer of `state`.

Every write is one Lua script (one round trip, atomic): `create.lua`,
`transition.lua`, `update.lua`. The rules come from `bot.connection.states`
and are passed to the script as JSON, so the table lives in one place.
Any Redis failure surfaces as `bot.store.client.StoreUnavailable`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import redis as redis_py

from bot.connection import states
from bot.connection.health import Health
from bot.connection.model import FIELDS, Connection, OrgStatus, State
from bot.connection.states import SYSTEM_ACTOR, Event
from bot.jobs.queue import Job, job_fields, stream_key
from bot.store import change_log
from bot.store.change_log import changed
from bot.store.client import guarded, unavailable_as_store_error

CONN_PREFIX = "ce:conn:"
ORG_PREFIX = "ce:org:"
ORG_CONNECTIONS_SUFFIX = ":connections"  # ce:org:{org_id}:connections, every connection that claimed it, by when
ORG_HISTORY_CONNECTIONS = 5  # /ce status shows the history of an organization's last connections
CONNECTIONS_KEY = "ce:connections"
EXPIRY_KEY = "ce:expiry"
# The indexes of indexes.lua, kept by the scripts that change what they index (listing and re-checks
# read pages and due organizations, never the whole history in ce:connections).
ORGS_KEY = "ce:orgs"  # connected organizations, member "org_id conn_id", score 0 (by organization ID)
IN_FLIGHT_KEY = "ce:in_flight"  # open connections by created_at
RECHECK_KEY = "ce:recheck"  # connected, active organizations by max(decided_at, claimed_at)
LISTINGS_KEY = "ce:listings"  # pages organizations.lua answered since the last write, by request
LISTINGS_KEPT_FOR = 60  # seconds at most (see organizations.lua)
LIST_PAGE_SIZE = 20
CREATE_ATTEMPTS = 5  # a fresh ID each time; a collision of 64 random bits is not expected even once
AUDIT_KEY = "ce:audit"
AUDIT_MAXLEN = 100_000
AUDIT_KEEP = 200  # audit entry IDs kept per connection (ce:conn:{id}:audit): /ce status shows the last ones
START_EVENT = "start"
HEALTH_SUFFIX = ":health"
AUDIT_SUFFIX = ":audit"  # ce:conn:{id}:audit, the connection's audit index (a list of ce:audit entry IDs)
HOME_VIEWERS_KEY = "ce:home:viewers"
HOME_REFRESHED_KEY = "ce:home:refreshed"
SEEN_PREFIX = "ce:seen:"
SEEN_VIEW_PREFIX = SEEN_PREFIX + "view:"  # ce:seen:view:{view_id}, a modal whose submission was accepted
STATUS_EVENTS = {OrgStatus.ACTIVE: "enable", OrgStatus.INACTIVE: "disable"}
# The fields a listing reads: what `/ce list`, the App Home and `/ce cancel`'s choice show (a row
# is read again, whole, before anything is done with it). Fewer fields, less of Redis's time.
LISTED_FIELDS = (
    "id", "state", "requester", "channel", "created_at", "updated_at", "org_id", "status", "account_count",
    "management_account_id", "expires_at", "validated_at", "decided_by", "decided_at",
)  # fmt: skip
LISTINGS_KEPT = 64  # listings kept parsed, each from a reply of at most LISTING_KEPT_SIZE characters
LISTING_KEPT_SIZE = 64 * 1024  # a page of 20 rows is about 6 kB

CONNECTION_ID = re.compile(r"[0-9a-f]{16}")
VIEW_ID = re.compile(r"V[A-Z0-9]{2,40}")  # Slack's view IDs, e.g. V0123ABCDEF

# Written by the store itself, never through `fields`.
_MANAGED = frozenset({"id", "state", "created_at", "requester", "updated_at", "expires_at"})
TRANSITION_FIELDS = FIELDS - _MANAGED  # org_id only with an event that claims the organization
UPDATE_FIELDS = FIELDS - _MANAGED - {"org_id", "account_count"}


def conn_key(conn_id: str) -> str:
    return CONN_PREFIX + conn_id


def accounts_key(conn_id: str) -> str:
    return f"{CONN_PREFIX}{conn_id}:accounts"


def org_key(org_id: str) -> str:
    return ORG_PREFIX + org_id


def org_connections_key(org_id: str) -> str:
    return ORG_PREFIX + org_id + ORG_CONNECTIONS_SUFFIX


def health_key(conn_id: str) -> str:
    return CONN_PREFIX + conn_id + HEALTH_SUFFIX


def audit_index_key(conn_id: str) -> str:
    return CONN_PREFIX + conn_id + AUDIT_SUFFIX


def new_connection_id() -> str:
    """16 lowercase hex characters from the OS's secure random source."""
    return secrets.token_hex(8)


def is_connection_id(value: Any) -> bool:
    """The check applied to every connection ID arriving in a Slack payload."""
    return isinstance(value, str) and CONNECTION_ID.fullmatch(value) is not None


def is_view_id(value: Any) -> bool:
    """The check applied to every view ID arriving in a Slack payload."""
    return isinstance(value, str) and VIEW_ID.fullmatch(value) is not None


class Refusal(StrEnum):
    NOT_FOUND = "not_found"
    WRONG_STATE = "wrong_state"
    NOT_ALLOWED = "not_allowed"
    ORG_TAKEN = "org_taken"
    REPLAYED = "replayed"  # the modal's view was already used by an accepted submission


@dataclass(frozen=True)
class TransitionResult:
    ok: bool
    connection: Connection | None  # after the transition when ok; as it stands otherwise (None when not found)
    refusal: Refusal | None = None
    holder: Connection | None = None  # ORG_TAKEN: the connection that holds the organization
    from_state: str = ""  # ok: the state before


@dataclass(frozen=True)
class AuditEntry:
    id: str
    conn: str
    org: str
    actor: str
    event: str
    from_state: str
    to_state: str
    at: float
    detail: str

    @classmethod
    def from_entry(cls, entry_id: str, entry: Mapping[str, str]) -> "AuditEntry":
        return cls(
            id=entry_id,
            conn=entry.get("conn", ""),
            org=entry.get("org", ""),
            actor=entry.get("actor", ""),
            event=entry.get("event", ""),
            from_state=entry.get("from", ""),
            to_state=entry.get("to", ""),
            at=float(entry.get("at") or 0),
            detail=entry.get("detail", ""),
        )

    @property
    def recorded_at(self) -> float:
        """When the entry was appended (its stream ID), in epoch seconds."""
        return int(self.id.split("-", 1)[0]) / 1000.0


class StatusOutcome(StrEnum):
    OK = "ok"
    UNCHANGED = "unchanged"  # already in that status: nothing was written
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    WRONG_STATE = "wrong_state"  # not connected


@dataclass(frozen=True)
class StatusResult:
    outcome: StatusOutcome
    connection: Connection | None  # after the change when ok; as it stands otherwise

    @property
    def ok(self) -> bool:
        return self.outcome is StatusOutcome.OK


@dataclass(frozen=True)
class Listed:
    """A connection that is not over, with the summary of its last health re-check."""

    connection: Connection
    checked_at: float = 0.0  # 0: never re-checked
    problems: int = 0


@dataclass(frozen=True)
class Listing:
    """One page of the organizations: connected ones by organization ID, then those in flight (oldest
    first), with the counts a list shows; `in_flight_rows` holds every connection in flight when asked."""

    rows: tuple[Listed, ...] = ()
    page: int = 0
    page_size: int = LIST_PAGE_SIZE
    connected: int = 0
    active: int = 0
    in_flight: int = 0
    in_flight_rows: tuple[Listed, ...] = ()

    @property
    def total(self) -> int:
        return self.connected + self.in_flight

    def __hash__(self) -> int:
        """Computed once: a list page kept rendered is looked up by its listing (`_list_message`), and
        hashing its rows, 20 connections of 27 fields, was a list job's largest pure-Python cost."""
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in fields(self)))

    def __getstate__(self) -> dict:
        """Pickled without its hash: another process hashes strings differently."""
        return {name: value for name, value in vars(self).items() if name != "_hash"}

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @classmethod
    def of(cls, listed: Sequence[Listed], page: int = 0, page_size: int = LIST_PAGE_SIZE) -> "Listing":
        """The same page cut from a whole list already in that order (pure: for views and tests)."""
        connected = [x for x in listed if x.connection.state is State.CONNECTED]
        pages = max(1, -(-len(listed) // page_size))
        page = min(max(0, page), pages - 1)
        return cls(
            rows=tuple(listed[page * page_size : (page + 1) * page_size]),
            page=page,
            page_size=page_size,
            connected=len(connected),
            active=sum(1 for x in connected if x.connection.status == OrgStatus.ACTIVE.value),
            in_flight=len(listed) - len(connected),
            in_flight_rows=tuple(x for x in listed if x.connection.state is not State.CONNECTED),
        )


def script_source(name: str, *, indexed: bool = False) -> str:
    """A script's text; `indexed` prepends indexes.lua (the index upkeep its writes share)."""
    text = (Path(__file__).with_name(name)).read_text()
    return (Path(__file__).with_name("indexes.lua")).read_text() + text if indexed else text


def _index() -> dict[str, str]:
    return {
        "orgs": ORGS_KEY,
        "in_flight": IN_FLIGHT_KEY,
        "recheck": RECHECK_KEY,
        "listings": LISTINGS_KEY,
        "health_suffix": HEALTH_SUFFIX,
        "audit_suffix": AUDIT_SUFFIX,
        "audit_keep": str(AUDIT_KEEP),
    }


@lru_cache(maxsize=None)
def _event_rules(event: Event) -> dict[str, list]:
    """The event's rules for transition.lua: {from_state: [to_state, role, keeps_expiry, releases_org]}."""
    return {
        source.value: [rule.to.value, rule.role.value, states.keeps_expiry(rule.to), states.releases_organization(rule.to)]
        for source, rule in states.sources(event).items()
    }


@lru_cache(maxsize=None)
def _transition_constants(event: Event) -> str:
    """The part of transition.lua's request that is the same for every `event`, as JSON members
    (serialised once: an ack path builds the rest)."""
    constants = {
        "system_actor": SYSTEM_ACTOR,
        "rules": _event_rules(event),
        "org_prefix": ORG_PREFIX,
        "org_connections_suffix": ORG_CONNECTIONS_SUFFIX,
        "conn_prefix": CONN_PREFIX,
        "final": _final_states(),
        "audit_maxlen": str(AUDIT_MAXLEN),
        "index": _index(),
    }
    return json.dumps(constants)[1:-1]


@lru_cache(maxsize=1)
def _final_states() -> dict[str, bool]:
    return {s.value: True for s in State if states.releases_organization(s)}


def _as_text(name: str, value: Any) -> str:
    if value is None:
        raise ValueError(f"field {name!r} has no value")
    if isinstance(value, bool):
        raise TypeError(f"field {name!r}: a bool is not a Redis value")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (str, int)):
        return str(value)
    raise TypeError(f"field {name!r}: {type(value).__name__} is not a Redis value")


def _flat(mapping: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for key, value in mapping.items():
        out += [key, value]
    return out


def _as_dict(flat: Sequence[str] | None) -> dict[str, str]:
    if not flat:
        return {}
    return dict(zip(flat[::2], flat[1::2]))


def _connection(flat: Sequence[str] | None) -> Connection | None:
    data = _as_dict(flat)
    return Connection.from_hash(data) if data else None


class ConnectionStore:
    def __init__(self, redis: redis_py.Redis, *, clock: Callable[[], float] = time.time):
        self.redis = redis
        self.clock = clock
        self._create = redis.register_script(script_source("create.lua", indexed=True))
        self._transition = redis.register_script(script_source("transition.lua", indexed=True))
        self._update = redis.register_script(script_source("update.lua", indexed=True))
        self._holder = redis.register_script(script_source("holder.lua"))
        self._organizations = redis.register_script(script_source("organizations.lua"))
        self._status = redis.register_script(script_source("status.lua", indexed=True))
        self._health = redis.register_script(script_source("health.lua", indexed=True))
        self._history = redis.register_script(script_source("history.lua"))
        self._recheck = redis.register_script(script_source("recheck.lua"))
        self._revalidate = redis.register_script(script_source("revalidate.lua"))
        self._home = redis.register_script(script_source("home.lua"))
        self._notified = redis.register_script(script_source("notified.lua"))

    # -- writes ------------------------------------------------------------------------------------

    @guarded
    def create(self, *, requester: str, channel: str, ttl: float, job: Job | None = None) -> Connection:
        """A new connection in state started, expiring in `ttl` seconds; with an optional job (whose
        conn_id, when empty, becomes the new ID), all in one atomic round trip."""
        for _ in range(CREATE_ATTEMPTS):
            conn, keys, args = self.create_call(requester=requester, channel=channel, ttl=ttl, job=job)
            if self._create(keys=keys, args=args) == 1:
                log_created(conn)
                return conn
        raise RuntimeError("could not find a free connection ID")  # 5 collisions of 64 random bits: not happening

    def create_call(
        self, *, requester: str, channel: str, ttl: float, job: Job | None = None
    ) -> tuple[Connection, list[str], list[str]]:
        """The new connection (with a fresh ID) and `create.lua`'s keys and args; no I/O."""
        if not requester or not channel:
            raise ValueError("a connection needs a requester and a channel")
        now = float(self.clock())
        conn = Connection(
            id=new_connection_id(),
            state=State.STARTED,
            requester=requester,
            channel=channel,
            created_at=now,
            updated_at=now,
            expires_at=now + ttl,
        )
        keys = [conn_key(conn.id), CONNECTIONS_KEY, EXPIRY_KEY, AUDIT_KEY]
        request: dict[str, Any] = {
            "id": conn.id,
            "hash": _flat(conn.to_hash()),
            "created_at": repr(conn.created_at),
            "expires_at": repr(conn.expires_at),
            "audit": _flat(self._audit_fields(conn.id, "", requester, START_EVENT, "", State.STARTED, now, "")),
            "audit_maxlen": str(AUDIT_MAXLEN),
            "index": _index(),
        }
        if job is not None:
            job = self._job_for(job, conn.id)
            keys.append(job.stream)
            request["job"] = _flat(job_fields(job))
        return conn, keys, [json.dumps(request)]

    @guarded
    def transition(self, conn_id: str, event: Event, **options: Any) -> TransitionResult:
        """Apply `event` to the connection atomically (see transition.lua), or refuse and change nothing.
        The options are `transition_call`'s."""
        call = self.transition_call(conn_id, event, **options)
        if call is None:
            return TransitionResult(False, None, Refusal.NOT_FOUND)
        keys, args = call
        result = transition_result(self._transition(keys=keys, args=args))
        log_transition(result, event, options["actor"])
        return result

    def transition_call(
        self,
        conn_id: str,
        event: Event,
        *,
        actor: str,
        actor_is_approver: bool = False,
        allow_self_approval: bool = False,
        fields: Mapping[str, str] | None = None,
        ttl: float | None = None,
        accounts: Sequence[Mapping[str, str]] | None = None,
        job: Job | None = None,
        detail: str = "",
        view_id: str = "",
        view_ttl: float = 0.0,
    ) -> tuple[list[str], list[str]] | None:
        """`transition.lua`'s keys and args for `event`; None when `conn_id` cannot name a connection. No I/O.

        - `fields`: other fields to set (names from model.FIELDS; `org_id` only, and required, with an
          event that claims the organization). approve/reject default decided_by=actor, decided_at=now.
        - `ttl`: when the new state is open, expires_at = now + ttl. Without it an open connection keeps
          its expires_at; a connected or final one gets expires_at 0 and leaves ce:expiry.
        - `accounts`: when given, replaces the member accounts (each a mapping with at least "id") and
          sets account_count.
        - `job`: enqueued iff the transition happens (conn_id filled in when empty).
        - `view_id`: the Slack view (modal) submitted: refused (`replayed`) when a transition already
          took it, and recorded for `view_ttl` seconds when this one happens.
        """
        event = Event(event)
        if not actor:
            raise ValueError("a transition needs an actor")
        if view_id != "" and not is_view_id(view_id):
            raise ValueError("view_id is not a Slack view ID (check it with is_view_id)")
        if view_id and view_ttl <= 0:
            raise ValueError("a view is recorded for view_ttl seconds: give one")
        claims = states.claims_organization(event)
        values = self._check_fields(fields or {}, TRANSITION_FIELDS, what="transition")
        if "org_id" in values and not claims:
            raise ValueError(f"{event.value} cannot change org_id (only an event that claims the organization)")
        if claims and not values.get("org_id"):
            raise ValueError(f"{event.value} claims an organization: fields must include org_id")
        if not is_connection_id(conn_id):
            return None

        now = float(self.clock())
        if event in (Event.APPROVE, Event.REJECT):
            values.setdefault("decided_by", actor)
            values.setdefault("decided_at", repr(now))
        if accounts is not None and "account_count" in values:
            raise ValueError("account_count is set from accounts; pass one or the other")

        keys = [conn_key(conn_id), accounts_key(conn_id), EXPIRY_KEY, AUDIT_KEY]
        request: dict[str, Any] = {
            "id": conn_id,
            "event": event.value,
            "actor": actor,
            "actor_is_approver": bool(actor_is_approver),
            "allow_self_approval": bool(allow_self_approval),
            "now": repr(now),
            "detail": str(detail),
            "fields": _flat(values),
            "claims_org": claims,
            "org_id": values.get("org_id", ""),
            "expires_at": repr(now + float(ttl)) if ttl is not None else "",
            "accounts": self._account_pairs(accounts) if accounts is not None else False,
            "view_seen": SEEN_VIEW_PREFIX + view_id if view_id else "",
            "view_ttl": max(1, int(view_ttl)),
        }
        if job is not None:
            job = self._job_for(job, conn_id)
            keys.append(job.stream)
            request["job"] = _flat(job_fields(job))
        return keys, ["{" + _transition_constants(event) + "," + json.dumps(request)[1:]]

    @guarded
    def update(self, conn_id: str, **fields: str) -> Connection | None:
        """Set bookkeeping fields (parent_ts, checklist_ts, approval_channel, approval_ts, status …) of an
        existing connection; never state, org_id or the fields transitions manage. None when not found."""
        values = self._check_fields(fields, UPDATE_FIELDS, what="update")
        if not values:
            raise ValueError("update needs at least one field")
        if not is_connection_id(conn_id):
            return None
        request = json.dumps({"id": conn_id, "final": _final_states(), "index": _index()})
        return _connection(self._update(keys=[conn_key(conn_id)], args=[request, *_flat(values)]))

    # -- reads -------------------------------------------------------------------------------------

    @guarded
    def get(self, conn_id: str) -> Connection | None:
        if not is_connection_id(conn_id):
            return None
        data = self.redis.hgetall(conn_key(conn_id))
        return Connection.from_hash(data) if data else None

    @guarded
    def holder(self, org_id: str) -> Connection | None:
        """The connection holding the organization (open or connected), if any."""
        return self._org_connection(org_id, or_last=False)

    @guarded
    def latest(self, org_id: str) -> Connection | None:
        """The organization's connection: the one holding it, else the last one that did (now final)."""
        return self._org_connection(org_id, or_last=True)

    def _org_connection(self, org_id: str, *, or_last: bool) -> Connection | None:
        if not org_id:
            return None
        keys = [org_key(org_id), org_connections_key(org_id)]
        return _connection(self._holder(keys=keys, args=[CONN_PREFIX, "1" if or_last else "0"]))

    @guarded
    def organization_history(self, conn: Connection) -> list[AuditEntry]:
        """The audit entries of the connection's organization's last connections (ORG_HISTORY_CONNECTIONS),
        `conn` included (it may have claimed it before ce:org:{org_id}:connections existed), oldest first."""
        conn_ids = self.redis.zrange(org_connections_key(conn.org_id), -ORG_HISTORY_CONNECTIONS, -1) if conn.org_id else []
        if conn.id not in conn_ids:
            conn_ids.append(conn.id)
        with self.redis.pipeline(transaction=False) as pipe:  # every connection's history in one round trip
            for conn_id in conn_ids:
                self._history(keys=[audit_index_key(conn_id), AUDIT_KEY], client=pipe)
            replies = pipe.execute()
        entries = [entry for conn_id, indexed in zip(conn_ids, replies) for entry in self._history_of(conn_id, indexed)]
        return sorted(entries, key=lambda entry: tuple(int(part) for part in entry.id.split("-")))

    @guarded
    def accounts(self, conn_id: str) -> list[dict[str, str]]:
        """The connection's member accounts, ordered by account ID."""
        if not is_connection_id(conn_id):
            return []
        data = self.redis.hgetall(accounts_key(conn_id))
        return [json.loads(data[account_id]) for account_id in sorted(data)]

    @guarded
    def history(self, conn_id: str) -> list[AuditEntry]:
        """The connection's audit entries (its last AUDIT_KEEP), oldest first, read through its audit index;
        those trimmed from ce:audit are gone. A connection recorded before the index existed has none: then
        ce:audit is scanned."""
        if not is_connection_id(conn_id):
            return []
        return self._history_of(conn_id, self._history(keys=[audit_index_key(conn_id), AUDIT_KEY]))

    def _history_of(self, conn_id: str, indexed: list | None) -> list[AuditEntry]:
        """history.lua's reply as entries; None (no index): ce:audit scanned."""
        if indexed is not None:
            return [AuditEntry.from_entry(entry_id, _as_dict(flat)) for entry_id, flat in indexed]
        return [entry for entry in self.audit_entries() if entry.conn == conn_id]

    @guarded
    def due_to_expire(self, now: float | None = None, limit: int = 100) -> list[str]:
        """IDs of open connections whose expires_at has passed (to be sent Event.EXPIRE by the system)."""
        now = float(self.clock()) if now is None else now
        return self.redis.zrangebyscore(EXPIRY_KEY, "-inf", now, start=0, num=limit)

    def ping(self) -> bool:
        """True when Redis answers (never raises)."""
        try:
            return bool(self.redis.ping())
        except (redis_py.RedisError, OSError):
            return False

    # -- operations: listing, the Status toggle, health, scheduler claims, App Home, audit ------------

    @guarded
    def listing(
        self, page: int = 0, *, page_size: int = LIST_PAGE_SIZE, around: str = "", in_flight_all: bool = False
    ) -> Listing:
        """One page of the organizations (connected ones by organization ID, then those in flight, oldest
        first) and the counts, in one round trip that reads only the page's rows (organizations.lua).
        `around`: show the page holding that connection; `in_flight_all`: also every connection in flight;
        `page_size` <= 0: everything on one page."""
        request = {
            "conn_prefix": CONN_PREFIX,
            "health_suffix": HEALTH_SUFFIX,
            "fields": list(LISTED_FIELDS),
            "page": int(page),
            "page_size": int(page_size),
            "around": around if is_connection_id(around) else "",
            "in_flight_all": bool(in_flight_all),
            "keep_for": LISTINGS_KEPT_FOR,
        }
        keys = [ORGS_KEY, IN_FLIGHT_KEY, RECHECK_KEY, LISTINGS_KEY]
        reply = self._organizations(keys=keys, args=[json.dumps(request)])
        return (_kept_listing if len(reply) <= LISTING_KEPT_SIZE else _listing)(reply, int(page_size))

    @guarded
    def set_status(
        self,
        status: OrgStatus,
        *,
        actor: str,
        actor_is_approver: bool,
        org_id: str = "",
        conn_id: str = "",
        job_queue: str = "slack",
        job_kind: str = "announce_status",
    ) -> StatusResult:
        """The organization's Status toggle: atomic, audited, announced (a job); "unchanged" writes nothing.

        The connection is `conn_id`, or the one holding `org_id`."""
        status = OrgStatus(status)
        if not actor:
            raise ValueError("a status change needs an actor")
        if bool(org_id) == bool(conn_id):
            raise ValueError("name the organization or the connection, not both")
        if conn_id and not is_connection_id(conn_id):
            return StatusResult(StatusOutcome.NOT_FOUND, None)
        request = {
            "conn_id": conn_id,
            "org_id": org_id,
            "org_prefix": ORG_PREFIX,
            "conn_prefix": CONN_PREFIX,
            "status": status.value,
            "event": STATUS_EVENTS[status],
            "actor": actor,
            "actor_is_approver": bool(actor_is_approver),
            "now": repr(float(self.clock())),
            "audit_maxlen": str(AUDIT_MAXLEN),
            "job_kind": job_kind,
            "final": _final_states(),
            "index": _index(),
        }
        outcome, flat, previous = self._status(keys=[AUDIT_KEY, stream_key(job_queue)], args=[json.dumps(request)])
        result = StatusResult(StatusOutcome(outcome), _connection(flat))
        if result.ok and change_log.wanted():
            changed(result.connection, actor=actor, event=request["event"], from_state=previous, to_state=status.value)
        return result

    @guarded
    def health(self, conn_id: str) -> Health | None:
        """The last health re-check of a connection (None before the first)."""
        if not is_connection_id(conn_id):
            return None
        data = self.redis.hgetall(health_key(conn_id))
        return Health.from_hash(data) if data.get("version") else None

    @guarded
    def record_health(
        self,
        conn_id: str,
        health: Health,
        *,
        expected_version: int,
        accounts: Sequence[Mapping[str, str]] | None = None,
        audit: Mapping[str, str] | None = None,
        job: Job | None = None,
    ) -> tuple[str, int]:
        """Write a re-check's health (compare-and-set on its version) with the accounts, an audit entry and
        a job, atomically. Returns ("ok", new version), ("conflict", current version) or ("wrong_state", 0)."""
        if not is_connection_id(conn_id):
            return "wrong_state", 0
        keys = [conn_key(conn_id), accounts_key(conn_id), health_key(conn_id), AUDIT_KEY]
        request: dict[str, Any] = {
            "expected_version": str(int(expected_version)),
            "fields": _flat(health.fields()),
            "accounts": self._account_pairs(accounts) if accounts is not None else False,
            "audit": False,
            "audit_maxlen": str(AUDIT_MAXLEN),
            "job": False,
            "index": _index(),
        }
        if audit is not None:
            fields = {"conn": conn_id, **{k: str(v) for k, v in audit.items()}}
            fields.setdefault("at", repr(float(self.clock())))
            request["audit"] = _flat(fields)
        if job is not None:
            job = self._job_for(job, conn_id)
            keys.append(job.stream)
            request["job"] = _flat(job_fields(job))
        outcome, version = self._health(keys=keys, args=[json.dumps(request)])
        return outcome, int(version)

    @guarded
    def mark_notified(self, conn_id: str, version: int) -> bool:
        """Remember that health `version` was announced; False when it (or a later one) already was."""
        if not is_connection_id(conn_id):
            return False
        return self._notified(keys=[health_key(conn_id)], args=[int(version)]) == 1

    @guarded
    def claim_rechecks(
        self, *, interval: float, now: float | None = None, limit: int = 100, job_queue: str = "health"
    ) -> list[str]:
        """Connected, active organizations due for a health re-check (max(decided_at, claimed_at) + interval
        <= now), claimed (with a job each) atomically; reads only ce:recheck's due entries."""
        return self._claim_due(self._recheck, [RECHECK_KEY, stream_key(job_queue)], since=interval, now=now,
                               limit=limit, health_suffix=HEALTH_SUFFIX, job_kind="recheck")  # fmt: skip

    @guarded
    def claim_stuck_validations(
        self, *, stuck_after: float, now: float | None = None, limit: int = 100, job_queue: str = "validate"
    ) -> list[str]:
        """Connections in validating since (updated_at or their last claim) at least `stuck_after` ago, whose
        validate job was lost, claimed with a new `validate` job each, atomically (revalidate.lua); reads only
        the connections in flight (ce:in_flight) created by then."""
        return self._claim_due(self._revalidate, [IN_FLIGHT_KEY, stream_key(job_queue)], since=stuck_after, now=now,
                               limit=limit, job_kind="validate")  # fmt: skip

    def _claim_due(self, script, keys: list[str], *, since: float, now: float | None, limit: int, **extra) -> list[str]:
        """A scheduler claim script's answer: what was due `since` seconds before `now`, at most `limit`."""
        now = float(self.clock()) if now is None else float(now)
        request = {"now": repr(now), "due": repr(now - float(since)), "limit": int(limit), "conn_prefix": CONN_PREFIX}
        request.update(extra)
        return list(script(keys=keys, args=[json.dumps(request)]))

    @guarded
    def first_sighting(self, key: str, ttl: float) -> bool:
        """True the first time `key` is seen within `ttl` seconds (SET NX EX): retried deliveries get False."""
        return bool(self.redis.set(SEEN_PREFIX + key, "1", nx=True, ex=max(1, int(ttl))))

    @guarded
    def home_opened(self, user_id: str) -> None:
        self.redis.zadd(HOME_VIEWERS_KEY, {user_id: float(self.clock())})

    @guarded
    def claim_home_refresh(self, *, keep: float = 30 * 86400.0) -> list[str]:
        """The users whose App Home needs a refresh because the audit log moved on (claimed once)."""
        oldest = float(self.clock()) - keep
        return list(self._home(keys=[AUDIT_KEY, HOME_REFRESHED_KEY, HOME_VIEWERS_KEY], args=[repr(oldest)]))

    @guarded
    def recent_audit(self, count: int = 10) -> list[AuditEntry]:
        """The last `count` audit entries, newest first."""
        return [AuditEntry.from_entry(i, e) for i, e in self.redis.xrevrange(AUDIT_KEY, count=count)]

    def audit_entries(
        self, *, since: float | None = None, until: float | None = None, batch: int = 1000
    ) -> Iterator[AuditEntry]:
        """Audit entries recorded from `since` up to `until` (epoch seconds; None: open), oldest first."""
        start = f"{int(since * 1000)}-0" if since is not None else "-"
        end = f"{int(until * 1000)}-18446744073709551615" if until is not None else "+"
        while True:
            with unavailable_as_store_error():
                page = self.redis.xrange(AUDIT_KEY, min=start, max=end, count=batch)
            for entry_id, entry in page:
                yield AuditEntry.from_entry(entry_id, entry)
            if len(page) < batch:
                return
            start = "(" + page[-1][0]

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _check_fields(fields: Mapping[str, Any], allowed: frozenset[str], *, what: str) -> dict[str, str]:
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ValueError(f"{what} cannot set {', '.join(unknown)}")
        return {name: _as_text(name, value) for name, value in fields.items()}

    @staticmethod
    def _account_pairs(accounts: Sequence[Mapping[str, str]]) -> list[str]:
        pairs: dict[str, str] = {}
        for account in accounts:
            account_id = account.get("id") if isinstance(account, Mapping) else None
            if not isinstance(account_id, str) or not account_id:
                raise ValueError("every account needs an 'id'")
            pairs[account_id] = json.dumps(dict(account), sort_keys=True)
        return _flat(pairs)

    @staticmethod
    def _job_for(job: Job, conn_id: str) -> Job:
        if not job.conn_id:
            return replace(job, conn_id=conn_id)
        if job.conn_id != conn_id:
            raise ValueError(f"job for connection {job.conn_id} attached to {conn_id}")
        return job

    @staticmethod
    def _audit_fields(
        conn_id: str, org: str, actor: str, event: str, from_state: str, to_state: str, at: float, detail: str
    ) -> dict[str, str]:
        return {
            "conn": conn_id,
            "org": org,
            "actor": actor,
            "event": event,
            "from": from_state,
            "to": str(to_state),
            "at": repr(at),
            "detail": detail,
        }


def transition_result(reply: Sequence) -> TransitionResult:
    """What `transition.lua` answered: ok (and the state before), or the refusal with the connection (and
    the organization's holder)."""
    status, conn_flat, holder_flat, from_state = reply
    connection = _connection(conn_flat)
    if status == "ok":
        return TransitionResult(True, connection, from_state=from_state)
    return TransitionResult(False, connection, Refusal(status), _connection(holder_flat))


# The lines of bot.changes, for both stores (ack paths run them: a line nobody wants costs one check).


def log_created(conn: Connection) -> None:
    if change_log.wanted():
        changed(conn, actor=conn.requester, event=START_EVENT, from_state="", to_state=State.STARTED.value)


def log_transition(result: TransitionResult, event: Event | str, actor: str) -> None:
    if result.ok and change_log.wanted():
        conn = result.connection
        changed(conn, actor=actor, event=Event(event).value, from_state=result.from_state, to_state=conn.state.value)


def _listing(reply: str, page_size: int) -> Listing:
    """A listing from organizations.lua's JSON."""
    page, connected, active, in_flight, rows, in_flight_rows = json.loads(reply)
    return Listing(
        rows=tuple(_listed(row) for row in rows),  # cjson writes an empty list as {}: no rows either way
        page=int(page),
        page_size=page_size if page_size > 0 else max(1, int(connected) + int(in_flight)),
        connected=int(connected),
        active=int(active),
        in_flight=int(in_flight),
        in_flight_rows=tuple(_listed(row) for row in in_flight_rows),
    )


# Kept by reply: the same page asked again, by anyone, reads the same reply, and parsing its rows was
# most of a list's cost. Only replies of page size: one with every connection in flight can be large.
_kept_listing = lru_cache(maxsize=LISTINGS_KEPT)(_listing)


def _listed(row: Sequence) -> Listed:
    values, health = row  # a field the hash lacks is false (Lua's nil in HMGET's reply)
    data = {name: value for name, value in zip(LISTED_FIELDS, values) if value is not False}
    return Listed(
        connection=Connection.from_hash(data),
        checked_at=float(health[0] or 0),
        problems=int(health[1] or 0),
    )
