"""The load client: N keep-alive connections, each sending the next prepared request and timing its answer.

Plain asyncio streams and pre-built request bytes keep the client's own cost
per request small (a few tens of microseconds), so on two cores the server,
not the client, is what is measured. A request's latency is from just before
its bytes are written to the moment the whole response has been read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class CellResult:
    latencies_ns: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)  # a few answers, to check what the server said

    @property
    def count(self) -> int:
        return len(self.latencies_ns)

    @property
    def first_body(self) -> bytes:
        return self.bodies[0] if self.bodies else b""


class HttpError(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, body
            body += await reader.readexactly(size + 2)
            body = body[:-2]
    return status, (await reader.readexactly(length)) if length else b""


async def _client(host: str, port: int, requests: list[bytes], counter: list[int], total: int, out: CellResult,
                  keep_bodies: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    perf = time.perf_counter_ns
    latencies = out.latencies_ns
    try:
        while True:
            i = counter[0]
            if i >= total:
                return
            counter[0] = i + 1
            data = requests[i % len(requests)]
            start = perf()
            writer.write(data)
            try:
                status, body = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                out.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                if out.errors > 50:
                    raise HttpError(f"the server keeps dropping connections: {error!r}") from error
                continue
            latencies.append(perf() - start)
            out.statuses[status] = out.statuses.get(status, 0) + 1
            if status != 200:
                out.errors += 1
            if len(out.bodies) < keep_bodies:
                out.bodies.append(body)
    finally:
        writer.close()


async def _run(host: str, port: int, requests: list[bytes], clients: int, total: int, keep_bodies: int) -> CellResult:
    out = CellResult()
    counter = [0]
    start = time.perf_counter()
    await asyncio.gather(*(_client(host, port, requests, counter, total, out, keep_bodies) for _ in range(clients)))
    out.wall_s = time.perf_counter() - start
    return out


def run_cell(host: str, port: int, requests: list[bytes], *, clients: int, total: int, keep_bodies: int = 3) -> CellResult:
    """Send `total` requests (cycling through `requests`) over `clients` concurrent connections (at most 120 s)."""
    return asyncio.run(asyncio.wait_for(_run(host, port, requests, clients, total, keep_bodies), 120.0))


def percentile(sorted_values: list[int] | list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return float(sorted_values[rank - 1])
