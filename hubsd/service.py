"""
The daemon's service tree.

`HubsdService` starts hubsd's parts one after another in dependency order
(storage, files, cluster bus, router, rooms, accounts, SFU, listeners, manhole), waiting for
each part's start Deferred, because ``MultiService`` ignores them. Readiness
is explicit: ``ready`` fires when everything is up (and systemd is told
``READY=1``); a part that fails to start (a port in use, a database that does
not answer) logs one line, stops what had started and ends the process with
status 1. Stopping runs the parts in reverse, so storage closes last, after
clients have been told goodbye and pending writes have been flushed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, ensureDeferred, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from hubsd.backends import BuildContext, build_backend
from hubsd.config import Config
from hubsd.interfaces import ISFU, IBackend, IClusterBus, IFileStore, IRoomStore

if TYPE_CHECKING:
    from zope.interface.interface import InterfaceClass

    from hubsd.accounts.signin import SignIn
    from hubsd.files.vault import FileVault
    from hubsd.media.resolver import MediaResolver
    from hubsd.rooms.procedures import WampRooms
    from hubsd.wamp.router import Router
    from hubsd.wamp.settings import RouterSettings

log = Logger(namespace="hubsd")


class StartupError(Exception):
    """A part could not start; ``str()`` is the one line shown to the operator."""


@dataclass
class _Running:
    name: str
    stop: Callable[[], Any]


class HubsdService(Service):
    """
    The whole daemon as one Twisted service.

    After start, the parts are reachable as attributes (``store``, ``files``,
    ``cluster``, ``router``, ``sfu``, ``ports``) for the manhole and tests.
    """

    name = "hubsd"

    # Each part is set when it has started (AttributeError before): a part
    # started later may rely on the earlier ones being there.
    store: IRoomStore
    files: IFileStore
    cluster: IClusterBus
    router: Router
    router_settings: RouterSettings
    sfu: ISFU
    rooms: WampRooms
    accounts: SignIn
    media: MediaResolver
    vault: FileVault

    def __init__(self, config: Config, reactor: Any) -> None:
        self.config = config
        self.reactor = reactor
        self.state = "stopped"
        self.exit_status = 0
        self.ready: Deferred[None] = Deferred()
        self.ports: dict[str, IListeningPort] = {}
        self._running: list[_Running] = []
        self._starting: Deferred[None] | None = None
        self.on_fatal: Callable[[int], None] = lambda status: None

    # -- start --------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self.state = "starting"
        self._starting = ensureDeferred(self._start())
        self._starting.addErrback(self._start_failed)

    async def _start(self) -> None:
        state_dir = _prepare_state_dir(self.config.section("hubsd")["state_dir"])
        context = BuildContext(self.reactor, state_dir, self.config)
        steps: list[tuple[str, Callable[[], Awaitable[Callable[[], Any]]]]] = [
            ("storage", lambda: self._start_storage(context)),
            ("files", lambda: self._start_files(context)),
            ("cluster", lambda: self._start_cluster(context)),
            ("router", self._start_router),
            ("rooms", lambda: self._start_rooms(state_dir)),
            ("accounts", self._start_accounts),
            ("vault", lambda: self._start_vault(state_dir)),
            ("sfu", lambda: self._start_sfu(context)),
            ("media", self._start_media),
            ("listeners", self._start_listeners),
            ("manhole", lambda: self._start_manhole(state_dir)),
            ("metrics", self._start_metrics),
        ]
        for name, step in steps:
            if not self.running:
                return  # stopService was called while we were starting
            stop = await step()
            self._running.append(_Running(name, stop))
        self.state = "ready"
        from hubsd.ops.systemd import sd_notify

        sd_notify("READY=1\nSTATUS=serving")
        log.info("hubsd is ready")
        self.ready.callback(None)

    async def _start_backend(
        self, kind: str, interface: InterfaceClass, context: BuildContext
    ) -> IBackend:
        """Build the configured backend of C{kind}, check that it provides
        C{interface}, and start it."""
        backend = build_backend(self.config, kind, context)
        name = self.config.backend(kind).name
        if not interface.providedBy(backend):
            raise StartupError(f"{kind} backend {name} does not provide {interface.__name__}")
        try:
            await backend.start()
        except Exception as e:
            raise StartupError(f"{kind} backend {name}: {e}") from e
        return IBackend(backend)

    async def _start_storage(self, context: BuildContext) -> Callable[[], Any]:
        self.store = IRoomStore(await self._start_backend("storage", IRoomStore, context))
        return self.store.stop

    async def _start_files(self, context: BuildContext) -> Callable[[], Any]:
        self.files = IFileStore(await self._start_backend("files", IFileStore, context))
        return self.files.stop

    async def _start_cluster(self, context: BuildContext) -> Callable[[], Any]:
        self.cluster = IClusterBus(await self._start_backend("cluster", IClusterBus, context))
        return self.cluster.stop

    async def _start_sfu(self, context: BuildContext) -> Callable[[], Any]:
        self.sfu = ISFU(await self._start_backend("sfu", ISFU, context))
        return self.sfu.stop

    async def _start_router(self) -> Callable[[], Any]:
        from hubsd.wamp.router import Router
        from hubsd.wamp.settings import RouterSettings

        self.router_settings = RouterSettings.fromConfig(self.config)
        self.router = Router(self.router_settings, self.reactor)
        self.router.startService()  # the load shedder's timer
        return self.router.stopService

    async def _start_rooms(self, state_dir: str) -> Callable[[], Any]:
        from hubsd.rooms.directory import RoomDirectory
        from hubsd.rooms.keys import KeyFileError, KeyRing
        from hubsd.rooms.procedures import WampRooms
        from hubsd.rooms.settings import RoomSettings
        from hubsd.rooms.tokens import Tokens

        try:
            keyring = KeyRing.load_or_create(state_dir)
        except KeyFileError as e:
            raise StartupError(str(e)) from e
        tokens = Tokens(keyring)
        directory = RoomDirectory(
            self.store,
            tokens,
            RoomSettings.fromConfig(self.config),
            self.reactor,
            keyring.session_secret,
        )
        # The room API is served on the first configured realm.
        rooms = WampRooms(self.router, self.router_settings.realms[0], directory, tokens)
        await rooms.start()
        self.router.set_authenticator("ticket", rooms.authenticate_ticket)
        self.rooms = rooms
        return rooms.stop

    async def _start_accounts(self) -> Callable[[], Any]:
        from hubsd.accounts.procedures import WampAccounts
        from hubsd.accounts.settings import AccountSettings
        from hubsd.accounts.signin import SignIn

        try:
            sign_in = SignIn(
                self.store,
                self.rooms.tokens,
                AccountSettings.fromConfig(self.config),
                self.reactor,
            )
        except ValueError as e:
            raise StartupError(str(e)) from e
        wamp = WampAccounts(self.router, self.router_settings.realms[0], sign_in)
        await wamp.start()
        sign_in.start()
        self.accounts = sign_in

        def stop() -> None:
            wamp.stop()
            sign_in.stop()

        return stop

    async def _start_vault(self, state_dir: str) -> Callable[[], Any]:
        from hubsd.files.vault import FileSettings, FileVault
        from hubsd.rooms.keys import KeyFileError, load_or_create_secret

        try:
            secret = load_or_create_secret(state_dir, "files.key")
        except KeyFileError as e:
            raise StartupError(str(e)) from e
        self.vault = FileVault(
            self.files,
            self.store,
            secret,
            FileSettings.fromConfig(self.config),
            self.reactor,
            self.config.section("hubsd")["public_origin"],
        )
        self.rooms.directory.files = self.vault
        self.vault.start()
        return self.vault.stop

    async def _start_media(self) -> Callable[[], Any]:
        from hubsd.media.resolver import MediaResolver

        self.media = MediaResolver.fromConfig(self.config, self.reactor)
        self.media.start()
        return self.media.stop

    async def _listen(self, name: str, description: str, factory: Any) -> None:
        try:
            port = await serverFromString(self.reactor, description).listen(factory)
        except CannotListenError as e:
            reason = e.socketError.strerror if e.socketError is not None else str(e)
            raise StartupError(f"cannot listen on {description} ({name}): {reason}") from e
        except Exception as e:
            raise StartupError(f"cannot listen on {description} ({name}): {e}") from e
        self.ports[name] = port

    async def _start_listeners(self) -> Callable[[], Any]:
        from hubsd.web.site import build_site

        listen = self.config.section("listen")
        settings = self.router_settings
        await self._listen("web", listen["web"], build_site(self))
        if listen["rawsocket"]:
            from hubsd.wamp.rawsocket import WampRawSocketFactory

            await self._listen(
                "rawsocket",
                listen["rawsocket"],
                WampRawSocketFactory(self.router, settings, self.reactor),
            )
        return self._stop_listening

    def _stop_listening(self) -> Deferred[Any]:
        from twisted.internet.defer import gatherResults

        ports, self.ports = self.ports, {}
        return gatherResults([maybeDeferred(p.stopListening) for p in ports.values()])

    async def _start_manhole(self, state_dir: str) -> Callable[[], Any]:
        options = self.config.section("manhole")
        if not (options["telnet"] or options["ssh"]):
            return lambda: None
        from hubsd.ops import manhole

        namespace = {"hubsd": self, "config": self.config, "reactor": self.reactor}
        try:
            if options["telnet"]:
                factory = manhole.telnet_factory(options, namespace)
                await self._listen("manhole-telnet", options["telnet"], factory)
            if options["ssh"]:
                factory = manhole.ssh_factory(options, namespace, state_dir)
                await self._listen("manhole-ssh", options["ssh"], factory)
        except manhole.ManholeSetupError as e:
            raise StartupError(str(e)) from e
        return lambda: None  # its ports close with the others in _stop_listening

    async def _start_metrics(self) -> Callable[[], Any]:
        endpoint = self.config.section("metrics")["endpoint"]
        if endpoint:
            from hubsd.ops.metrics import metrics_site

            await self._listen("metrics", endpoint, metrics_site(self))
        return lambda: None  # its port closes with the others in _stop_listening

    def _start_failed(self, failure: Any) -> None:
        if failure.check(StartupError):
            log.critical("hubsd cannot start: {reason}", reason=str(failure.value))
        else:
            log.failure("hubsd cannot start", failure)
        self.exit_status = 1
        self.state = "failed"
        if not self.ready.called:
            self.ready.errback(failure)
            self.ready.addErrback(lambda _: None)
        # The one critical line above is the whole story: the parts that had
        # started are undone quietly (debug), not announced as "stopped".
        d = self._stop_parts(quiet=True)
        d.addBoth(lambda _: self.on_fatal(1))

    # -- stop ---------------------------------------------------------------

    def stopService(self) -> Deferred[None]:
        super().stopService()
        self.state = "stopping"
        from hubsd.ops.systemd import sd_notify

        sd_notify("STOPPING=1")
        return self._stop_parts()

    def _stop_parts(self, quiet: bool = False) -> Deferred[None]:
        # The manhole and listeners stop first (no new clients), then the
        # router says goodbye, ... and storage, started first, closes last.
        stopping = list(reversed(self._running))
        self._running = []

        async def stop_all() -> None:
            if self.ports:
                await self._stop_listening()
            for part in stopping:
                try:
                    await maybeDeferred(part.stop)
                except Exception:
                    log.failure("error while stopping {part}", part=part.name)
                else:
                    (log.debug if quiet else log.info)("stopped {part}", part=part.name)
            if self.state != "failed":
                self.state = "stopped"

        return ensureDeferred(stop_all())


def _prepare_state_dir(path: str) -> str:
    """Create the state directory if needed and prove it is writable."""
    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as e:
        raise StartupError(f"state_dir {path} is not usable: {e.strerror}") from None
    return path
