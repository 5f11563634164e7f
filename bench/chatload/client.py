"""The chat load test's websocket client process (autobahn on asyncio, no Django): open-loop
Poisson arrivals over many conversations, one rate step at a time."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chatload.measure import machine_busy_s, pct, profile_summary
from bench.chatload.server import Server


@dataclass
class Sent:
    scheduled: float
    sent: float = 0.0
    replied: float | None = None
    error: str | None = None
    client_msg_id: str = ""


@dataclass
class Connection:
    """One customer socket on its own conversation; matches bot replies to sent messages."""

    server: Server
    conversation: str
    port: int = 0
    protocol: Any = None
    opened: asyncio.Future | None = None
    history: asyncio.Future | None = None
    closed: bool = False
    handed_off: bool = False  # the bot queued this conversation for a person: no more answers
    pending: deque = field(default_factory=deque)  # Sent, oldest first, awaiting the bot

    async def open(self, timeout_s: float = 30) -> None:
        from autobahn.asyncio.websocket import WebSocketClientFactory

        loop = asyncio.get_running_loop()
        self.opened, self.history = loop.create_future(), loop.create_future()
        url = f"ws://127.0.0.1:{self.port}/ws/chat/"  # the first message starts a conversation
        factory = WebSocketClientFactory(url, origin=f"http://127.0.0.1:{self.port}")
        factory.protocol = _ClientProtocol
        factory.connection = self
        await loop.create_connection(factory, "127.0.0.1", self.port)
        await asyncio.wait_for(self.history, timeout_s)

    def send(self, text: str, record: Sent) -> None:
        record.client_msg_id = uuid.uuid4().hex
        record.sent = time.perf_counter()
        self.pending.append(record)
        frame = {"type": "message", "text": text, "client_msg_id": record.client_msg_id}
        self.protocol.sendMessage(json.dumps(frame).encode())

    def on_frame(self, frame: dict[str, Any]) -> None:
        now = time.perf_counter()
        kind = frame.get("type")
        if kind == "history" and self.history is not None and not self.history.done():
            self.history.set_result(frame)
        elif kind == "message" and frame.get("sender") in ("bot", "system"):
            # A system message answers a question the bot read as asking for a person.
            if self.pending:
                self.pending.popleft().replied = now
        elif kind == "handoff":
            self.handed_off = True
        elif kind == "error":
            cid = frame.get("client_msg_id")
            record = next((r for r in self.pending if r.client_msg_id == cid), None)
            if record is None and self.pending:
                record = self.pending[0]  # reply_failed: the oldest unanswered message
            if record is not None:
                self.pending.remove(record)
                record.error = str(frame.get("code"))
                record.replied = now


def _client_protocol_class() -> type:
    from autobahn.asyncio.websocket import WebSocketClientProtocol

    class ClientProtocol(WebSocketClientProtocol):
        def onOpen(self) -> None:  # noqa: N802  (autobahn's API)
            conn = self.factory.connection
            conn.protocol = self
            self.sendMessage(json.dumps({"type": "hello", "customer": "bench"}).encode())
            if not conn.opened.done():
                conn.opened.set_result(True)

        def onMessage(self, payload: bytes, is_binary: bool) -> None:  # noqa: N802
            self.factory.connection.on_frame(json.loads(payload))

        def onClose(self, was_clean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802
            conn = self.factory.connection
            conn.closed = True
            for future in (conn.opened, conn.history):
                if future is not None and not future.done():
                    future.set_exception(ConnectionError(f"closed: {code} {reason}"))

    return ClientProtocol


_ClientProtocol: Any = None


async def open_connections(
    server: Server, n: int, concurrency: int = 20, ports: list[int] | None = None
) -> list[Connection]:
    """`n` sockets, each on its own conversation, spread round-robin over the processes."""
    ports = ports or server.ports
    conns = [Connection(server, str(uuid.uuid4()), ports[i % len(ports)]) for i in range(n)]
    gate = asyncio.Semaphore(concurrency)

    async def one(conn: Connection) -> None:
        async with gate:
            await conn.open()

    await asyncio.gather(*(one(c) for c in conns))
    return conns


async def warm_up(server: Server, questions: list[str], rng: random.Random) -> float:
    """Load the encoder and index in the server (first answer), then a few more; returns s."""
    started = time.perf_counter()
    for port in server.ports:
        await _warm_up_process(server, port, questions, rng)
    return time.perf_counter() - started


async def _warm_up_process(
    server: Server, port: int, questions: list[str], rng: random.Random
) -> None:
    [conn] = await open_connections(server, 1, ports=[port])
    for i in range(12):
        record = Sent(scheduled=time.perf_counter())
        conn.send(rng.choice(questions), record)
        deadline = time.perf_counter() + (300 if i == 0 else 30)
        while record.replied is None:
            if time.perf_counter() > deadline or conn.closed:
                raise SystemExit(f"no answer from daphne ({server.mode}):\n{server.log_tail()}")
            await asyncio.sleep(0.01)
        if record.error:
            raise SystemExit(f"warm-up message failed ({record.error}):\n{server.log_tail()}")
    await close_all([conn])


async def send_open_loop(
    conns: list[Connection], rate: float, seconds: float, questions: list[str], rng: random.Random
) -> tuple[list[Sent], float]:
    """Poisson arrivals at `rate` for `seconds`; returns the records and the window start."""
    records: list[Sent] = []
    start = time.perf_counter() + 0.05
    at = start
    while True:
        at += rng.expovariate(rate)
        if at - start >= seconds:
            break
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        record = Sent(scheduled=at)
        active = [c for c in conns if not c.handed_off] or conns
        conn = rng.choice(active)
        if conn.closed:
            raise SystemExit(f"a websocket closed during the run:\n{conn.server.log_tail()}")
        conn.send(rng.choice(questions), record)
        records.append(record)
    return records, start


async def drain(records: list[Sent], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and any(r.replied is None for r in records):
        await asyncio.sleep(0.05)


async def run_step(
    server: Server,
    conns: list[Connection],
    rate: float,
    cfg: dict[str, Any],
    questions: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    metrics_before = await asyncio.to_thread(server.metrics)
    threads_before: dict[int, float] = {}
    if server.profile_path is not None:
        await asyncio.to_thread(server.profile_snapshot)  # reset the sampler
        threads_before = server.thread_cpu_seconds()
    cpu_server, cpu_client = server.cpu_seconds(), time.process_time()
    busy, wall, unix_start = machine_busy_s(), time.perf_counter(), time.time()
    records, start = await send_open_loop(conns, rate, cfg["seconds"], questions, rng)
    window_end = start + cfg["seconds"]
    await drain(records, cfg["drain_s"])
    wall = time.perf_counter() - wall
    cpu_server = server.cpu_seconds() - cpu_server
    cpu_client = time.process_time() - cpu_client
    busy = machine_busy_s() - busy
    profile = None
    if server.profile_path is not None:
        threads_after = server.thread_cpu_seconds()
        cpu_by_thread = {
            tid: seconds - threads_before.get(tid, 0.0) for tid, seconds in threads_after.items()
        }
        raw_profile = await asyncio.to_thread(server.profile_snapshot)
        profile = profile_summary(raw_profile, cpu_by_thread, wall)
    metrics_after = await asyncio.to_thread(server.metrics)

    answered = [r for r in records if r.replied is not None and r.error is None]
    rtt_ms = [(r.replied - r.sent) * 1000 for r in answered]
    errors = Counter(r.error for r in records if r.error)
    timeouts = sum(1 for r in records if r.replied is None)
    in_window = sum(1 for r in answered if r.replied <= window_end)
    lag_ms = [max(0.0, r.sent - r.scheduled) * 1000 for r in records]
    batches = metrics_after["batches"] - metrics_before["batches"]
    items = metrics_after["items"] - metrics_before["items"]
    encoder_busy = metrics_after["busy_s"] - metrics_before["busy_s"]
    step: dict[str, Any] = {
        "rate_msgs_per_s": rate,
        "sent": len(records),
        "answered": len(answered),
        "msgs_per_s": round(in_window / cfg["seconds"], 1),
        "p50_ms": pct(rtt_ms, 50),
        "p90_ms": pct(rtt_ms, 90),
        "p99_ms": pct(rtt_ms, 99),
        "max_ms": round(max(rtt_ms), 1) if rtt_ms else None,
        "errors": dict(errors),
        "timeouts": timeouts,
        "conversations_handed_off": sum(c.handed_off for c in conns),
        "send_lag_p99_ms": pct(lag_ms, 99),
        "encoder_batches": int(batches),
        "encoder_mean_batch": round(items / batches, 2) if batches else None,
        "encoder_busy_share": round(encoder_busy / wall, 3),
        "cpu_cores": {
            "server": round(cpu_server / wall, 2),
            "client": round(cpu_client / wall, 2),
            "other": round(max(0.0, busy - cpu_server - cpu_client) / wall, 2),
        },
        "wall_s": round(wall, 1),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "window_unix": [unix_start, time.time()],
    }
    if profile is not None:
        step["profile"] = profile
    step["within_budget"] = bool(
        rtt_ms and step["p99_ms"] < cfg["budget_ms"] and not errors and not timeouts
    )
    return step


async def run_load(cfg: dict[str, Any]) -> dict[str, Any]:
    """The client process: warm up, connect, step the rate up per mode; returns raw results."""
    global _ClientProtocol
    _ClientProtocol = _client_protocol_class()
    servers = {ref["mode"]: Server.from_ref(ref) for ref in cfg["servers"]}
    questions, rates = cfg["questions"], cfg["rates"]
    rng = random.Random(cfg["seed"])
    warm = {}
    for mode, server in servers.items():
        warm[mode] = round(await warm_up(server, questions, rng), 1)
        log(f"{mode}: warmed up in {warm[mode]} s")
    conns = {}
    for mode, server in servers.items():
        conns[mode] = await open_connections(server, cfg["clients"])
        # A short unmeasured run at the lowest rate: pool threads, caches, first batches.
        records, _ = await send_open_loop(conns[mode], rates[0], 3.0, questions, rng)
        await drain(records, cfg["drain_s"])
    log(f"{cfg['clients']} websockets open per server")

    results: dict[str, dict[str, Any]] = {m: {"steps": [], "stopped_early": False} for m in servers}
    for i, rate in enumerate(rates):
        order = list(servers) if i % 2 == 0 else list(servers)[::-1]
        for mode in order:
            result = results[mode]
            if result["stopped_early"]:
                continue
            step = await run_step(servers[mode], conns[mode], rate, cfg, questions, rng)
            result["steps"].append(step)
            log(
                f"{mode:>4} rate {rate:>6g}: {step['msgs_per_s']:>6.1f} msg/s  p50 "
                f"{step['p50_ms']} ms  p99 {step['p99_ms']} ms  errors {step['errors']} "
                f"timeouts {step['timeouts']}  batch {step['encoder_mean_batch']}  "
                f"cpu {step['cpu_cores']}"
            )
            failed = step["timeouts"] + sum(step["errors"].values())
            if (step["p99_ms"] or 0) > cfg["stop_p99_ms"] or failed > 0.01 * max(1, step["sent"]):
                result["stopped_early"] = True
            await asyncio.sleep(1.0)
    await close_all([c for mode_conns in conns.values() for c in mode_conns])
    return {"modes": results, "warm_up_s": warm}


async def close_all(conns: list[Connection], timeout_s: float = 15) -> None:
    """Close handshakes, so the servers see clean disconnects; abort whatever hangs."""
    for conn in conns:
        if conn.protocol is not None and not conn.closed:
            conn.protocol.sendClose(code=1000)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and not all(c.closed for c in conns):
        await asyncio.sleep(0.05)
    for conn in conns:
        if conn.protocol is not None and not conn.closed:
            conn.protocol.transport.abort()


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def client_main(config_path: Path) -> int:
    """Entry of the client process (no Django here: daphne's import claims txaio for Twisted,
    and the main process's large heap would add GC pauses to the measured round trips)."""
    cfg = json.loads(config_path.read_text())
    results = asyncio.run(run_load(cfg))
    Path(cfg["out"]).write_text(json.dumps(results), encoding="utf-8")
    return 0
