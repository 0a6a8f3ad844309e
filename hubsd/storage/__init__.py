"""
The room store: rooms, accounts, roles, pinned objects and file metadata.

Three implementations of L{hubsd.interfaces.IRoomStore} share one test suite:

  - L{hubsd.storage.memory.MemoryRoomStore}: dicts, for tests and demos;
  - L{hubsd.storage.sqlite.SQLiteRoomStore}: the embedded default;
  - L{hubsd.storage.postgres.PostgresRoomStore}: for production and several nodes.

Records and the field rules every backend shares are in
L{hubsd.storage.records}, errors in L{hubsd.storage.errors}, the check of
lookup keys in L{hubsd.storage.keys}, and the numbered schema migrations of
the SQL stores in C{migrations/} (applied by L{hubsd.storage.migrate}'s rules
at start). Each SQL store keeps its connection lifecycle in its own module
(C{sqlite.py}, C{postgres.py} with C{postgres_connection.py}) and its SQL in
two: C{*_rooms.py} (rooms, accounts, roles) and C{*_content.py} (pinned
objects, file metadata).
"""
