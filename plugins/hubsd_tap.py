"""The ``twistd hubsd`` command (all the work is in hubsd.tap)."""

from twisted.application.service import ServiceMaker

hubsd = ServiceMaker(
    "hubsd",
    "hubsd.tap",
    "Shared virtual rooms: WAMP router, Phoenix gateway, SFU and storage",
    "hubsd",
)
