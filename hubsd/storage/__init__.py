"""
The room store: rooms, accounts, roles, pinned objects and file metadata.

Three implementations of L{hubsd.interfaces.IRoomStore} share one test suite:

  - L{hubsd.storage.memory.MemoryRoomStore}: dicts, for tests and demos;
  - L{hubsd.storage.sqlite.SQLiteRoomStore}: the embedded default;
  - L{hubsd.storage.postgres.PostgresRoomStore}: for production and several nodes.

Records are in L{hubsd.storage.records}, errors in L{hubsd.storage.errors},
and the numbered schema migrations of the SQL stores in C{migrations/}
(applied by L{hubsd.storage.migrate}'s rules at start).
"""
