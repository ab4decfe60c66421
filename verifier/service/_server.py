"""The gRPC server's life: build it, serve until a signal, shut down without losing a call.

create_server   the server with the verification, health and reflection services,
                its limits, bound to an address — health NOT_SERVING until
mark_serving    says the verifier is started (then the server's health follows whether
                the audit sink writes, and each department's its circuit breaker);
graceful_shutdown  health NOT_SERVING → drain: new verifications UNAVAILABLE, accepted
                ones answered (within ``grace``; ``_drain``) → grpc stops → write the
                unauthenticated calls counted → close the verifier;
serve           all of the above, with SIGTERM / SIGINT starting the shutdown, and the
                health-only plaintext port for probes if asked (``_health_port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import weakref
from collections.abc import Callable, Coroutine, Iterator

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import metrics

from verifier._errors import ConfigurationError
from verifier.config._server_options import ServerOptions
from verifier.engine import Verifier
from verifier.service._admission import AdmissionControl
from verifier.service._auth import Authenticator
from verifier.service._drain import Drain
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._health_port import HealthPort, open_health_port
from verifier.service._servicer import SERVICE_NAME, VerificationServicer, lenient_parser
from verifier.service._unauthenticated import UnauthenticatedAttempts

DEFAULT_ADDRESS = "127.0.0.1:0"
DEFAULT_OPTIONS = ServerOptions()
STOP_RESERVE_SECONDS = 1.0
"""The end of the grace (at most a tenth of it) is kept for grpc's own stop, after the drain."""
_HEALTH_SERVICES = ("", SERVICE_NAME)
"""Health is reported for the whole server ("") and for the verification service: SERVING
while the audit sink writes, NOT_SERVING while it cannot (no audit, no answer: every
verification would be refused, so a load balancer should route elsewhere)."""
AUDIT_PROBE_SECONDS = 0.5
"""While the audit sink cannot write, it is probed this often (``AuditSink.probe``, which
writes no record). Waiting for the next real write instead would wait forever: with health
NOT_SERVING a load balancer sends no calls. A real write that succeeds counts too."""
DEPARTMENT_HEALTH_PREFIX = f"{SERVICE_NAME}/department/"
"""Each department's health name is this followed by the department (``department_health``).
SERVING while its circuit breaker is closed or half-open, NOT_SERVING while it is open. The
server's own statuses stay SERVING meanwhile: one department down degrades answers (its
facts are UNKNOWN), it does not make the service unhealthy."""

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def department_health(department: str) -> str:
    """The health service name that tells whether ``department``'s circuit is open."""
    return DEPARTMENT_HEALTH_PREFIX + department


class _ServerHealth:
    """A server's health servicer, and the watches that keep it current: the audit sink's
    state for the server's own statuses, the breakers for the departments'."""

    def __init__(self, servicer: health_aio.HealthServicer, verifier: Verifier) -> None:
        self.servicer = servicer
        self._verifier = verifier
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unwatch: list[Callable[[], None]] = []
        self._sync_due = False
        self._syncing: set[asyncio.Task[None]] = set()
        self._probing: asyncio.Task[None] | None = None

    def departments(self) -> list[str]:
        return [department_health(name) for name in self._verifier.breaker_states()]

    async def follow(self) -> None:
        """Set every status now, and again whenever the audit sink's state or a breaker's
        changes."""
        self._loop = asyncio.get_running_loop()
        # A verifier built without a resilience policy has no breakers: every department
        # then stays SERVING.
        if not self._unwatch:
            self._unwatch = [
                self._verifier.watch_breakers(self._changed),
                self._verifier.watch_audit(self._audit_changed),
            ]
        await self._sync()
        await self._sync_server()
        self._probe_while_unwritable()

    async def stop_following(self) -> None:
        for unwatch in self._unwatch:
            unwatch()
        self._unwatch = []
        if self._probing is not None:
            self._syncing.add(self._probing)
        for task in self._syncing:
            task.cancel()
        await asyncio.gather(*self._syncing, return_exceptions=True)

    def _audit_changed(self, writable: bool) -> None:
        # On the event loop: the verifier hears of its writes and probes there.
        self._spawn(self._sync_server())
        self._probe_while_unwritable()

    def _probe_while_unwritable(self) -> None:
        if not self._verifier.audit_writable and self._probing is None:
            self._probing = asyncio.get_running_loop().create_task(self._probe_audit())

    async def _sync_server(self) -> None:
        # The current state, not the reported change: statuses cannot end out of order.
        status = _SERVING if self._verifier.audit_writable else _NOT_SERVING
        for service in _HEALTH_SERVICES:
            await self.servicer.set(service, status)

    async def _probe_audit(self) -> None:
        try:
            while not self._verifier.audit_writable:
                await asyncio.sleep(AUDIT_PROBE_SECONDS)
                await self._verifier.probe_audit()
        finally:
            self._probing = None

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._syncing.add(task)
        task.add_done_callback(self._syncing.discard)

    def _changed(self, department: str, state: str) -> None:
        # Any thread: a metrics reader may be the one to notice an open circuit's time is up.
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                loop.call_soon_threadsafe(self._sync_soon)

    def _sync_soon(self) -> None:
        if self._sync_due:
            return
        self._sync_due = True
        self._spawn(self._sync())

    async def _sync(self) -> None:
        # The current states, not the reported transition: statuses cannot end out of order.
        self._sync_due = False
        for department, state in self._verifier.breaker_states().items():
            status = _NOT_SERVING if state == "open" else _SERVING
            await self.servicer.set(department_health(department), status)


# The health of each server create_server made, so that mark_serving and graceful_shutdown
# can reach it knowing only the server.
_health_of: weakref.WeakKeyDictionary[grpc.aio.Server, _ServerHealth] = weakref.WeakKeyDictionary()
# And its count of unauthenticated calls, which graceful_shutdown writes to the audit log.
_unauthenticated_of: weakref.WeakKeyDictionary[grpc.aio.Server, UnauthenticatedAttempts] = (
    weakref.WeakKeyDictionary()
)
_drain_of: weakref.WeakKeyDictionary[grpc.aio.Server, Drain] = weakref.WeakKeyDictionary()


async def create_server(
    verifier: Verifier,
    address: str = DEFAULT_ADDRESS,
    *,
    options: ServerOptions = DEFAULT_OPTIONS,
    meter_provider: metrics.MeterProvider | None = None,
    authenticator: Authenticator | None = None,
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.aio.Server, int]:
    """A server for ``verifier`` bound to ``address``, and the port it bound (for port 0).

    The server is not started. Health says NOT_SERVING until ``mark_serving``: start the
    verifier first. ``options`` holds the limits (``ServerOptions``: message size, RPCs at
    once, the applications each VerifyBatch stream works on at once, admission control).

    Admission control: at most ``options.max_in_flight_verifications`` verifications
    (Verify calls and VerifyBatch items) run at once, ``max_queued_verifications`` more
    wait up to ``queue_timeout_ms`` for a slot, and the rest are refused at once with
    RESOURCE_EXHAUSTED and a RetryInfo; refusals are counted in
    ``verifier.admission.rejections`` (on ``meter_provider``, default the global one).
    Health and the item listing are not limited: overload is not unhealth. grpc's own
    ``max_concurrent_rpcs`` (every RPC alike, health checks included) stays the last resort.
    Async because the health service's state lives on the running event loop.

    Callers: ``authenticator`` identifies each call's system (default: development mode,
    the request's declared caller from loopback peers only); ``credentials`` (e.g.
    ``grpc.ssl_server_credentials`` requiring client certificates) make the port TLS,
    else it is plaintext.
    """
    server = grpc.aio.server(
        options=_channel_options(options),
        maximum_concurrent_rpcs=options.max_concurrent_rpcs,
    )
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:  # grpc's way of saying the address is taken or malformed
        raise ConfigurationError(f"cannot listen on {address!r}") from None
    meter = metrics.get_meter("verifier", meter_provider=meter_provider)
    admission = AdmissionControl(
        options.max_in_flight_verifications,
        options.max_queued_verifications,
        options.queue_timeout_ms / 1000,
        rejections=meter.create_counter(
            "verifier.admission.rejections",
            "{verification}",
            "Verifications refused with RESOURCE_EXHAUSTED by admission control",
        ),
    )
    drain = _drain_of[server] = Drain()
    servicer = VerificationServicer(
        verifier,
        batch_in_flight=options.batch_in_flight,
        admission=admission,
        authenticator=authenticator,
        drain=drain,
    )
    _add_servicer(servicer, server)
    _unauthenticated_of[server] = servicer.unauthenticated
    health = _ServerHealth(health_aio.HealthServicer(), verifier)
    for service in (*_HEALTH_SERVICES, *health.departments()):
        await health.servicer.set(service, _NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, grpc_health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    _health_of[server] = health
    return server, port


def _channel_options(options: ServerOptions) -> list[tuple[str, int]]:
    channel = [("grpc.max_receive_message_length", options.max_message_bytes)]
    if options.max_connection_age_seconds is not None:
        channel += [
            ("grpc.max_connection_age_ms", round(options.max_connection_age_seconds * 1000)),
            (
                "grpc.max_connection_age_grace_ms",
                round(options.max_connection_age_grace_seconds * 1000),
            ),
        ]
    return channel


async def mark_serving(server: grpc.aio.Server) -> None:
    """Health SERVING: call once the verifier behind ``server`` is started. From then on the
    server's status follows whether the audit sink writes (``_HEALTH_SERVICES``) and each
    department's its circuit breaker (``DEPARTMENT_HEALTH_PREFIX``)."""
    await _health_of[server].follow()


async def graceful_shutdown(
    server: grpc.aio.Server,
    verifier: Verifier,
    *,
    grace: float = DEFAULT_OPTIONS.shutdown_grace_seconds,
) -> None:
    """NOT_SERVING; refuse new verifications with UNAVAILABLE and answer those accepted
    (``_drain``: those still running when ``grace`` is nearly up are refused with
    UNAVAILABLE too, never CANCELLED); then stop grpc in what is left of ``grace``, and
    close the verifier.

    Open health Watch streams count as in flight for grpc: with watchers the stop lasts
    what is left of ``grace``.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + grace
    health = _health_of.get(server)
    try:
        if health is not None:
            await health.servicer.enter_graceful_shutdown()  # every status, departments too
            await health.stop_following()
        drain = _drain_of.get(server)
        if drain is not None:
            await drain.drain(end - min(STOP_RESERVE_SECONDS, grace / 10))
        await server.stop(max(0.0, end - loop.time()))
    finally:
        unauthenticated = _unauthenticated_of.pop(server, None)
        if unauthenticated is not None:  # before the audit log closes with the verifier
            await unauthenticated.aclose()
        await verifier.aclose()


async def serve(
    verifier: Verifier,
    address: str = DEFAULT_ADDRESS,
    *,
    options: ServerOptions = DEFAULT_OPTIONS,
    ready: Callable[[int], object] | None = None,
    stop: asyncio.Event | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    authenticator: Authenticator | None = None,
    credentials: grpc.ServerCredentials | None = None,
    health_address: str | None = None,
    health_ready: Callable[[int], object] | None = None,
) -> None:
    """Serve ``verifier`` until SIGTERM or SIGINT (or ``stop`` is set), then shut down gracefully.

    ``ready(port)`` is called once the verifier is started and health says SERVING. The
    verifier is closed on the way out, however serve ends. ``health_address``: also serve
    ``grpc.health.v1`` alone, in plaintext, there (``_health_port``: for probes that speak
    no TLS), from before the verifier starts until after the main port stops;
    ``health_ready(port)`` is told the port it bound.
    """
    try:
        server, port = await create_server(
            verifier,
            address,
            options=options,
            meter_provider=meter_provider,
            authenticator=authenticator,
            credentials=credentials,
        )
    except BaseException:
        await verifier.aclose()  # serve owns the verifier's life, failed start-up included
        raise
    stop = stop or asyncio.Event()
    health_port: HealthPort | None = None
    # Handlers stay installed through the shutdown: a second signal must not cut the drain.
    with stop_on_signals(stop):
        await server.start()
        try:
            if health_address is not None:
                health_port = await open_health_port(_health_of[server].servicer, health_address)
                if health_ready is not None:
                    health_ready(health_port.port)
            await verifier.start()
            await mark_serving(server)
            if ready is not None:
                ready(port)
            await stop.wait()
        finally:
            try:
                await graceful_shutdown(server, verifier, grace=options.shutdown_grace_seconds)
            finally:
                if health_port is not None:
                    await health_port.stop()


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no Unix signals
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _add_servicer(servicer: VerificationServicer, server: grpc.aio.Server) -> None:
    """Register the service as the generated code would, except that a request that does not
    parse (e.g. a string field that is not UTF-8) reaches the handler as ``UNDECODABLE``,
    so it gets INVALID_ARGUMENT instead of grpc's bare UNKNOWN (and grpc's logged
    traceback: anyone could flood the log with them)."""
    handlers = {
        "Verify": grpc.unary_unary_rpc_method_handler(
            servicer.Verify,
            request_deserializer=lenient_parser(pb.VerifyRequest),
            response_serializer=pb.VerifyResponse.SerializeToString,
        ),
        "VerifyBatch": grpc.stream_stream_rpc_method_handler(
            servicer.VerifyBatch,
            request_deserializer=lenient_parser(pb.VerifyBatchRequest),
            response_serializer=pb.VerifyBatchResponse.SerializeToString,
        ),
        "ListServiceItems": grpc.unary_unary_rpc_method_handler(
            servicer.ListServiceItems,
            request_deserializer=lenient_parser(pb.ListServiceItemsRequest),
            response_serializer=pb.ListServiceItemsResponse.SerializeToString,
        ),
        "DescribeServiceItem": grpc.unary_unary_rpc_method_handler(
            servicer.DescribeServiceItem,
            request_deserializer=lenient_parser(pb.DescribeServiceItemRequest),
            response_serializer=pb.DescribeServiceItemResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
