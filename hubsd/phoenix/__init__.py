"""
The Phoenix channel gateway: the protocol the Hubs web client speaks.

``frames`` is the V2 JSON frame codec, ``events`` the room traffic turned
into Phoenix pushes (encoded once per publication for every Phoenix
member), ``session`` one Phoenix socket as a router session, ``hub`` the
``hub:<sid>`` channel's events mapped onto the room core, ``websocket``
the transport at ``/socket/websocket``. The reference for every shape is
docs/phoenix-api.md.
"""
