"""
The interfaces between hubsd's core and its backends.

Every backend kind (storage, files, sfu, cluster) is an interface here, found at
start-up through a Twisted plugin (see ``hubsd.backends``). Each interface has at
least one real implementation and an in-memory one for tests, and every
implementation runs the same shared test suite (``verifyObject`` first).

All methods that may touch the disk or the network return Deferreds: callers in
the reactor thread never block.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IBackendPlugin(Interface):
    """
    A named backend factory, found with ``twisted.plugin.getPlugins``.

    The plugin module stays tiny: ``factory`` is a dotted name imported only
    when the backend is chosen, so an import error in an implementation is
    reported as a config error instead of silently hiding the plugin.
    """

    kind = Attribute("Which backend interface this builds: storage, files, sfu or cluster.")
    name = Attribute("The name used in the config, e.g. 'sqlite'.")
    description = Attribute("One line for humans.")
    factory = Attribute(
        "Dotted 'module:callable' path. The callable is called as "
        "factory(options, context) and returns a provider of the kind's interface."
    )
    options = Attribute(
        "Tuple of hubsd.config.Option: the keys this backend adds to its section."
    )


class IService(Interface):
    """
    Something with an asynchronous life: started in dependency order, stopped
    in reverse. Backends provide it in addition to their own interface.
    """

    def start():
        """
        Acquire resources (open files, connect, run migrations).

        @return: Deferred firing with None when ready, or failing with an
            exception whose ``str()`` is a one-line message for the operator.
        """

    def stop():
        """
        Release resources, flushing pending writes first.

        @return: Deferred firing with None.
        """


class IFileStore(IService):
    """
    Encrypted blob storage for uploaded files. Blobs are opaque bytes here:
    encryption with the per-file key happens above this interface.
    """

    def put(file_id, data):
        """Store C{data} (bytes) under C{file_id} (str). Deferred[None]."""

    def get(file_id):
        """Deferred[bytes]; fails with L{hubsd.files.errors.FileMissing}."""

    def delete(file_id):
        """Remove a blob; deleting a missing blob is not an error. Deferred[None]."""

    def exists(file_id):
        """Deferred[bool]."""


class IClusterBus(IService):
    """
    Carries room traffic between hubsd nodes. The ``local`` bus serves one
    process and carries nothing; ``redis`` (later) fans out across nodes.
    """

    node_id = Attribute("This node's identifier (str).")

    def publish(channel, payload):
        """Send C{payload} (bytes) to every other node listening on C{channel}."""

    def subscribe(channel, callback):
        """
        Call C{callback(payload)} for messages other nodes publish on
        C{channel}. Returns a callable that cancels the subscription.
        """


class ISFU(IService):
    """
    The selective forwarding unit for voice and video. Its signalling runs
    over the WAMP router as an in-process session (see sfu-protocol.md).
    """

    name = Attribute("Backend name, e.g. 'none'.")
    forwards_media = Attribute("True if this SFU forwards RTP at all.")
