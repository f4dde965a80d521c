"""Job and JobQueue: the stream entry format."""

from __future__ import annotations

import pytest

from bot.jobs.queue import Job, JobQueue, stream_key


def test_job_fields_and_round_trip():
    job = Job("slack", "open_thread", "0123456789abcdef", {"response_url": "https://example.invalid/r"})
    assert job.stream == "ce:jobs:slack"
    assert job.fields() == {"kind": "open_thread", "conn": "0123456789abcdef", "response_url": "https://example.invalid/r"}
    back = Job.from_entry("slack", "1-0", job.fields(), attempt=3)
    assert back == Job("slack", "open_thread", "0123456789abcdef", {"response_url": "https://example.invalid/r"}, "1-0", 3)


@pytest.mark.parametrize(
    "job",
    [
        Job("Slack", "k", "c"),
        Job("", "k", "c"),
        Job("ce:jobs:x", "k", "c"),
        Job("slack", "", "c"),
        Job("slack", "k", "c", {"kind": "other"}),
        Job("slack", "k", "c", {"conn": "other"}),
    ],
)
def test_invalid_jobs(job):
    with pytest.raises(ValueError):
        job.fields()


def test_data_values_must_be_text():
    with pytest.raises(TypeError):
        Job("slack", "k", "c", {"n": 1}).fields()


def test_enqueue(redis):
    queue = JobQueue(redis, "validate")
    entry_id = queue.enqueue(Job("validate", "validate", "0123456789abcdef"))
    assert redis.xrange(stream_key("validate")) == [(entry_id, {"kind": "validate", "conn": "0123456789abcdef"})]
    assert queue.length() == 1
    with pytest.raises(ValueError):
        queue.enqueue(Job("slack", "open_thread", "0123456789abcdef"))


def test_group_starts_at_the_beginning(redis):
    queue = JobQueue(redis, "slack")
    queue.enqueue(Job("slack", "open_thread", "0123456789abcdef"))  # before any worker ever ran
    queue.ensure_group()
    queue.ensure_group()  # idempotent
    got = redis.xreadgroup("workers", "c1", {"ce:jobs:slack": ">"}, count=10)
    assert len(got[0][1]) == 1
    assert queue.pending() == 1
    assert JobQueue(redis, "validate").pending() == 0  # no group yet: nothing pending
