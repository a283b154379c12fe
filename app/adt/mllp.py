"""The MLLP listener: HL7 v2 over TCP, each message framed as 0x0B ... 0x1C 0x0D.

An asyncio server; each connection may send many messages, and is answered in order, one
ACK per message. Connections run concurrently; the database work runs in a thread pool so the
event loop only moves bytes. Nothing a sender does stops the listener: bad frames and bad
messages get an AR (and are kept for review, except messages over the size limit); a message
whose outcome cannot be stored gets no ACK and the connection is closed, so the sender retries
later (the usual interface-engine behaviour).

Limits, so that no sender can hold the listener's memory or connections: a connection that
completes no message (or takes no ACK) within the idle timeout is closed; connections beyond
the cap are closed on arrival; a frame over the size limit is discarded unread. asyncio stops
reading a connection once it buffers twice the frame limit, so unanswered frames hold at most
about cap x 2 x frame limit bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor

from hl7.mllp.streams import CARRIAGE_RETURN, END_BLOCK, START_BLOCK

from app.adt import ack as acks
from app.adt.ack import Ack
from app.adt.errors import SEGMENT_SEQUENCE_ERROR, Rejected
from app.adt.parser import Envelope, Header
from app.adt.pipeline import Unavailable
from app.adt.receiver import AccountError
from app.core.clock import utcnow

log = logging.getLogger("boardround.adt.mllp")

FRAME_END = END_BLOCK + CARRIAGE_RETURN
MAX_MESSAGE_BYTES = 1_000_000
IDLE_TIMEOUT = 300.0  # seconds
MAX_CONNECTIONS = 16

Handler = Callable[[bytes, str], Ack]


def frame(message: bytes) -> bytes:
    return START_BLOCK + message + FRAME_END


def _unframed_rejection(text: str) -> bytes:
    envelope = Envelope(Header(), None, Rejected(text, code=SEGMENT_SEQUENCE_ERROR))
    ack = acks.build(envelope, code="AR", text=text, error_code=SEGMENT_SEQUENCE_ERROR, now=utcnow())
    return ack.message.encode("ascii", "replace")


def peer_of(address: object) -> str:
    """A sender's address, for logs (never anything it sent)."""
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) and len(address) >= 2 else "unknown"


def _peer(writer: asyncio.StreamWriter) -> str:
    return peer_of(writer.get_extra_info("peername"))


class MllpServer:
    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 2575,
        workers: int = 8,
        executor: Executor | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int | None = MAX_CONNECTIONS,
    ) -> None:
        self.handler = handler
        self.max_message_bytes = max_message_bytes
        self.idle_timeout = idle_timeout
        # None: no cap here (worker processes; their listener caps the connections it hands over).
        self.max_connections = max_connections
        self.host = host
        self.port = port
        self.workers = workers
        self._server: asyncio.Server | None = None
        self._pool: Executor | None = executor
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="adt")
        self._server = await asyncio.start_server(self._accepted, self.host, self.port, limit=self.max_message_bytes)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "MLLP listener on %s:%d (at most %s connections, idle timeout %g s)",
            self.host,
            self.port,
            self.max_connections or "unlimited",
            self.idle_timeout,
        )
        return self.port

    async def serve_socket(self, sock: socket.socket) -> None:
        """Serve a connection accepted elsewhere (a worker process given it by the listener)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="adt")
        reader, writer = await asyncio.open_connection(sock=sock, limit=self.max_message_bytes)
        await self._connection(reader, writer)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    async def _read_frame(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next message, without framing; None at end of stream. Bytes before the start
        block (line noise, keep-alive newlines) are skipped."""
        while True:
            try:
                block = await reader.readuntil(FRAME_END)
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    log.warning("connection closed inside a message (%d bytes dropped)", len(exc.partial))
                return None
            except asyncio.LimitOverrunError:
                # Too big: discard up to the next frame end and say so.
                await self._discard_oversized(reader)
                raise ValueError("message too large") from None
            start = block.find(START_BLOCK)
            if start < 0:
                # No start block: answer it like any message (an AR unless it is HL7 after all),
                # so that it is kept for review instead of silently lost.
                content = block[: -len(FRAME_END)].strip()
                if not content:
                    continue
                log.warning("MLLP frame without a start block (%d bytes)", len(content))
                return content
            return block[start + 1 : -len(FRAME_END)]

    async def _discard_oversized(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                await reader.readuntil(FRAME_END)
                return
            except asyncio.LimitOverrunError as exc:
                await reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.max_connections is not None and len(self._writers) >= self.max_connections:
            log.warning(
                "MLLP: connection from %s refused: the limit of %d connections is reached",
                _peer(writer),
                self.max_connections,
            )
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        await self._connection(reader, writer)

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        # A peer that stops taking its ACKs counts as idle too.
        await asyncio.wait_for(writer.drain(), self.idle_timeout)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    # One deadline for the whole frame: waiting for it, or a sender stalled (or
                    # trickling) part-way through it, both end the connection.
                    message = await asyncio.wait_for(self._read_frame(reader), self.idle_timeout)
                except ValueError:
                    text = f"Message too large: over {self.max_message_bytes} bytes (not stored)"
                    await self._send(writer, frame(_unframed_rejection(text)))
                    continue
                if message is None:
                    break
                try:
                    ack = await loop.run_in_executor(self._pool, self.handler, message, "mllp")
                except (Unavailable, AccountError) as exc:
                    log.error("MLLP: could not process a message (%s): closing the connection unanswered", exc)
                    break
                except Exception as exc:  # noqa: BLE001 - never let one connection's failure spread
                    log.error("MLLP: unexpected %s: closing the connection unanswered", type(exc).__name__)
                    break
                await self._send(writer, frame(ack.message.encode("utf-8")))
        except TimeoutError:
            log.info(
                "MLLP: connection from %s closed: no complete message in %g s (idle)", _peer(writer), self.idle_timeout
            )
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@contextlib.contextmanager
def running_in_thread(
    handler: Handler, *, host: str = "127.0.0.1", port: int = 0, workers: int = 8, **options: float | None
) -> Iterator[MllpServer]:
    """Run a listener on its own event loop in a background thread (tests, benchmarks)."""
    loop = asyncio.new_event_loop()
    server = MllpServer(handler, host=host, port=port, workers=workers, **options)  # type: ignore[arg-type]
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="mllp-listener", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("MLLP listener did not start")
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class MllpClient:
    """A minimal blocking MLLP client: send a message, wait for its ACK (tests, benchmarks)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buffer = b""

    def send(self, message: bytes | str) -> str:
        data = message.encode("utf-8") if isinstance(message, str) else message
        self.sock.sendall(frame(data))
        return self.receive()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> str:
        while FRAME_END not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the ACK")
            self._buffer += chunk
        block, _, self._buffer = self._buffer.partition(FRAME_END)
        return block[block.find(START_BLOCK) + 1 :].decode("utf-8")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
