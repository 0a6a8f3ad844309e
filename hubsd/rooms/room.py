"""
One live room: its seats, moderation and pins, as one object.

L{LiveRoom} puts together the parts of a room's rules, each in the module
named for it: who holds the seats, presence and the reconnect hold
(L{hubsd.rooms.seats}), what owners and moderators may do
(L{hubsd.rooms.moderation}) and pinned objects (L{hubsd.rooms.pins}).
Every operation is synchronous and protocol-free, and returns the
L{Notice}s members must be told.
"""

from __future__ import annotations

from hubsd.rooms.moderation import Moderation
from hubsd.rooms.notice import Notice
from hubsd.rooms.pins import Pins
from hubsd.rooms.seats import JoinResult, Member


class LiveRoom(Moderation, Pins):
    """The state and rules of one room on this node."""


__all__ = ["JoinResult", "LiveRoom", "Member", "Notice"]
