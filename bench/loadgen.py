"""A cheap open-loop HTTP/1.1 load generator for benchmarks on this machine (loopback).

Request i is due at start + i/rate whether or not earlier ones have answered, and its latency
counts from then (a request waiting for a free connection waits on the clock, as in wrk2).
One thread, plain sockets, keep-alive connections (at most `connections`, opened as needed),
requests written as bytes in advance: 0.14-0.19 ms of CPU per request measured on this
machine (docs/benchmarks.md), on the same two cores as the server. A connection the server
closes (keep-alive timeout, a worker replaced after --max-requests) is opened again and its
request sent again, its latency still from its due time. A request unanswered after
`timeout` seconds is an error.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    index: int = -1  # the request in flight, -1: idle
    buffer: bytearray = field(default_factory=bytearray)


def _parse(buffer: bytearray) -> tuple[int, int] | None:
    """(status, length of the whole response) once it is complete in `buffer`, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).split(b"\r\n")
    status = int(head[0].split(b" ", 2)[1])
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    total = end + 4 + length
    return (status, total) if len(buffer) >= total else None


def request_bytes(path: str, headers: dict[str, str], port: int) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def run(
    port: int,
    requests: list[bytes],
    rate: float,
    *,
    connections: int = 64,
    timeout: float = 10.0,
) -> dict:
    """Send `requests` open-loop at `rate`; latencies (s, None: failed), statuses and the
    generator's own CPU seconds."""
    selector = selectors.DefaultSelector()
    latencies: list[float | None] = [None] * len(requests)
    statuses = [0] * len(requests)
    idle: deque[_Conn] = deque()
    waiting: deque[int] = deque()  # due, but no connection free
    busy: set = set()
    opened = [0]
    cpu_start = time.process_time()
    start = time.monotonic() + 0.05

    def open_conn() -> _Conn:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = _Conn(sock)
        selector.register(sock, selectors.EVENT_READ, conn)
        opened[0] += 1
        return conn

    def send(conn: _Conn, index: int) -> None:
        conn.index, conn.buffer = index, bytearray()
        try:
            conn.sock.sendall(requests[index])
        except OSError:
            reopen(conn)
            return
        busy.add(conn)

    def reopen(conn: _Conn) -> None:
        index = conn.index
        busy.discard(conn)
        selector.unregister(conn.sock)
        conn.sock.close()
        opened[0] -= 1
        send(open_conn(), index)

    def free(conn: _Conn) -> None:
        busy.discard(conn)
        conn.index = -1
        if waiting:
            send(conn, waiting.popleft())
        else:
            idle.append(conn)

    sent = 0
    total = len(requests)
    while sent < total or busy or waiting:
        now = time.monotonic()
        while sent < total and start + sent / rate <= now:
            if idle:
                send(idle.popleft(), sent)
            elif opened[0] < connections:
                send(open_conn(), sent)
            else:
                waiting.append(sent)
            sent += 1
        if sent >= total and not busy and waiting:
            send(open_conn() if opened[0] < connections else idle.popleft(), waiting.popleft())
        wait = (start + sent / rate - now) if sent < total else 0.05
        for key, _ in selector.select(max(wait, 0)):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if conn.index < 0:
                if not chunk:  # an idle connection the server closed
                    idle.remove(conn)
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    opened[0] -= 1
                continue
            if not chunk:
                reopen(conn)
                continue
            conn.buffer += chunk
            parsed = _parse(conn.buffer)
            if parsed is not None:
                due = start + conn.index / rate
                latencies[conn.index] = time.monotonic() - due
                statuses[conn.index] = parsed[0]
                free(conn)
        now = time.monotonic()
        for conn in [c for c in busy if now - (start + c.index / rate) > timeout]:
            busy.discard(conn)
            selector.unregister(conn.sock)
            conn.sock.close()
            opened[0] -= 1
            conn.index = -1
    for conn in idle:
        conn.sock.close()
    selector.close()
    return {
        "latencies": latencies,
        "statuses": statuses,
        "cpu_s": time.process_time() - cpu_start,
        "wall_s": time.monotonic() - start,
    }
