"""The Redis connection: tight timeouts, one exception for "Redis is not there".

A Slack request must be answered within 3 seconds even when Redis is down or
hung, so every call is bounded: about 1 s to connect, 2 s to answer, and only
connection failures (refused, reset: fast by nature) are retried, once and
briefly. A timeout is never retried: the caller gets `StoreUnavailable`.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator, TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 2.0  # any BLOCK (XREADGROUP in the worker) must stay below this
HEALTH_CHECK_INTERVAL = 30
RETRIES = 1

T = TypeVar("T")


class StoreUnavailable(Exception):
    """Redis is down, hung or refusing writes; the only Redis error the rest of the bot sees."""

    #: True after a timeout: the command may have reached Redis and be applied when it wakes up,
    #: so nobody can say that nothing was changed.
    maybe_applied: bool = False


def connect(url: str) -> redis.Redis:
    """A client for `url` (redis://, rediss://, unix://) with responses decoded to str.

    No I/O happens here: the first command connects. Thread-safe (a connection pool).
    """
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.05), RETRIES, supported_errors=(redis.ConnectionError,))
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        retry=retry,
        health_check_interval=HEALTH_CHECK_INTERVAL,
    )


# Server replies that mean "cannot serve now" rather than "your command is wrong".
_UNAVAILABLE_REPLIES = ("LOADING", "MISCONF", "READONLY", "MASTERDOWN", "BUSY ", "OOM", "NOREPLICAS", "TRYAGAIN")


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that say Redis cannot be reached or cannot serve right now."""
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError)):
        return True
    return isinstance(exc, redis.ResponseError) and str(exc).upper().startswith(_UNAVAILABLE_REPLIES)


@contextlib.contextmanager
def unavailable_as_store_error() -> Iterator[None]:
    """Turn any Redis error into `StoreUnavailable` (the original is chained as __cause__)."""
    try:
        yield
    except StoreUnavailable:
        raise
    except (redis.RedisError, OSError) as exc:
        if is_unavailable(exc):
            error = StoreUnavailable(f"Redis unavailable: {type(exc).__name__}")
            error.maybe_applied = isinstance(exc, redis.TimeoutError)
            raise error from exc
        raise StoreUnavailable(f"Redis error: {type(exc).__name__}: {_short(exc)}") from exc


def guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Decorator form of `unavailable_as_store_error`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with unavailable_as_store_error():
            return method(*args, **kwargs)

    return wrapper


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "…"
