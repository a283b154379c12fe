"""More than one core's worth of MLLP: whole connections handed to worker processes.

The listener process only accepts connections; each goes, as an open socket, to the worker
process serving the fewest, which reads its messages, applies them with its own engine and
Receiver, and answers. An interface engine keeps one message in flight per connection (it waits
for each ACK), so serving whole connections loses no parallelism, and a message never crosses
between processes. PostgreSQL only: SQLite allows one writer at a time, across processes too.

Stopping: the listener stops accepting and sends each worker SIGTERM; a worker finishes the
messages it is applying, closes its connections and exits. A worker that dies on its own stops
the whole listener (exit code 1), so that its supervisor restarts it with every worker.

Limits: the listener keeps the connection cap (it knows how many each worker serves); each
worker applies the idle timeout and frame limit to its own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle

from app.adt.mllp import IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_MESSAGE_BYTES, MllpServer, peer_of
from app.core import log_redaction

log = logging.getLogger("boardround.adt.workers")

START_TIMEOUT = 60  # seconds for a worker to start its interpreter and check the account


class WorkerFailed(Exception):
    """A worker process could not start (no database, account disabled...)."""


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, sockets: Connection, status: Connection) -> None:
        self.process = process
        self.sockets = sockets  # listener -> worker: accepted sockets
        self.status = status  # worker -> listener: "closed" for each connection it finishes
        self.connections = 0


class ConnectionWorkers:
    def __init__(
        self,
        account: str,
        processes: int,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        threads: int = 2,
        log_level: int = logging.INFO,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        setup: Callable[[], None] | None = None,
    ) -> None:
        """`setup` runs first in each worker process (a module-level function: it is pickled),
        e.g. to install the session hooks (app/session_hooks.py)."""
        context = multiprocessing.get_context("spawn")
        self.host, self.port = host, port
        self.max_connections = max_connections  # across all workers: counted here, where they arrive
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._listening: socket.socket | None = None
        self._accepting: asyncio.Task | None = None
        self._stopping = False
        self.lost = False  # a worker died on its own
        self.on_worker_lost: Callable[[], None] | None = None
        for _ in range(processes):
            sockets, theirs_sockets = context.Pipe()  # duplex: a Unix socket pair, which can carry sockets
            status, theirs_status = context.Pipe()
            process = context.Process(
                target=_worker_main,
                args=(
                    theirs_sockets,
                    theirs_status,
                    account,
                    threads,
                    log_level,
                    max_message_bytes,
                    idle_timeout,
                    setup,
                ),
                name="adt-worker",
                daemon=True,
            )
            process.start()
            theirs_sockets.close()
            theirs_status.close()
            self._workers.append(_Worker(process, sockets, status))
        try:
            for worker in self._workers:  # all started before the first connection is taken
                if not worker.status.poll(START_TIMEOUT):
                    raise WorkerFailed("a worker process did not start in time")
                first = worker.status.recv()
                if first != "ready":
                    raise WorkerFailed(str(first))
        except (WorkerFailed, EOFError) as exc:
            self.terminate()
            raise WorkerFailed(str(exc) or "a worker process exited while starting") from None
        for worker in self._workers:
            threading.Thread(target=self._follow, args=(worker,), name="adt-worker-status", daemon=True).start()

    def _follow(self, worker: _Worker) -> None:
        """Count the connections a worker finishes (its status pipe closes when it exits)."""
        while True:
            try:
                worker.status.recv()
            except (EOFError, OSError):
                with self._lock:
                    worker.connections = 1 << 30  # gone: never chosen again
                if not self._stopping:
                    log.error("MLLP: a worker process exited (code %s): stopping", worker.process.exitcode)
                    self.lost = True
                    if self.on_worker_lost is not None:
                        self.on_worker_lost()
                return
            with self._lock:
                worker.connections -= 1

    def load(self) -> list[int]:
        """Open connections per worker process."""
        with self._lock:
            return [w.connections for w in self._workers]

    def hand_over(self, conn: socket.socket) -> None:
        with self._lock:
            worker = min(self._workers, key=lambda w: w.connections)
            worker.connections += 1
        try:
            send_handle(worker.sockets, conn.fileno(), worker.process.pid)  # type: ignore[arg-type]
        except OSError:
            log.error("MLLP: a worker process is gone: connection closed")
        finally:
            conn.close()  # the worker holds its own copy

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._listening = socket.create_server((self.host, self.port))
        self._listening.setblocking(False)
        self.port = self._listening.getsockname()[1]
        self._accepting = asyncio.get_running_loop().create_task(self._accept())
        log.info("MLLP listener on %s:%d, %d worker processes", self.host, self.port, len(self._workers))
        return self.port

    async def _accept(self) -> None:
        assert self._listening is not None
        loop = asyncio.get_running_loop()
        while True:
            conn, address = await loop.sock_accept(self._listening)
            if sum(self.load()) >= self.max_connections:
                log.warning(
                    "MLLP: connection from %s refused: the limit of %d connections is reached",
                    peer_of(address),
                    self.max_connections,
                )
                conn.close()
                continue
            self.hand_over(conn)

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self._listening is not None:
            self._listening.close()
        await asyncio.get_running_loop().run_in_executor(None, self.terminate)

    def terminate(self, timeout: float = 30) -> None:
        self._stopping = True
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: finish what is in hand, then exit
        for worker in self._workers:
            worker.process.join(timeout)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)


# -- in the worker process ----------------------------------------------------------------------


def _worker_main(
    sockets: Connection,
    status: Connection,
    account: str,
    threads: int,
    log_level: int,
    max_message_bytes: int,
    idle_timeout: float,
    setup: Callable[[], None] | None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the listener, which stops us
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_redaction.install()
    if setup is not None:
        setup()
    from app.adt.receiver import Receiver
    from app.config import get_settings
    from app.db import make_engine

    try:
        # No pre-ping: a dropped connection makes the message retry on a new one (pipeline._is_transient).
        receiver = Receiver(make_engine(get_settings(), pre_ping=False), account)
    except Exception as exc:  # noqa: BLE001 - reported to the listener, which refuses to start
        status.send(f"{type(exc).__name__}: {exc}")
        return
    status.send("ready")
    # No cap in the worker: the listener caps the connections it hands over.
    server = MllpServer(
        receiver, workers=threads, max_message_bytes=max_message_bytes, idle_timeout=idle_timeout, max_connections=None
    )
    asyncio.run(_serve(server, sockets, status))


async def _serve(server: MllpServer, sockets: Connection, status: Connection) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def finished(_task: asyncio.Task) -> None:
        with contextlib.suppress(OSError):
            status.send("closed")

    def adopt(fd: int) -> None:
        task = loop.create_task(server.serve_socket(socket.socket(fileno=fd)))
        task.add_done_callback(finished)

    def receive() -> None:  # blocks on the pipe, so in its own thread
        while True:
            try:
                fd = recv_handle(sockets)
            except (EOFError, OSError):
                loop.call_soon_threadsafe(stop.set)  # the listener has gone
                return
            loop.call_soon_threadsafe(adopt, fd)

    threading.Thread(target=receive, name="adt-sockets", daemon=True).start()
    await stop.wait()
    await server.stop()
