"""
hubsd's own WAMP v2 router (broker + dealer), built on Autobahn's message
classes and websocket protocol. No Crossbar.

Public API:

- L{hubsd.wamp.settings}: C{RouterSettings} (defaults from the schema),
  C{Principal}, C{RoleRules}.
- L{hubsd.wamp.router}: C{Router(settings, reactor)}, a Twisted service,
  with C{set_authenticator}, C{add_gate}, C{set_authorizer},
  C{add_publish_hook}, C{add_session_observer}, C{attach},
  C{attach_local_session}, C{stats}, C{shutdown}; C{Publication},
  C{PublishRejected}.
- L{hubsd.wamp.session}: C{RouterSession} (base of every kind of session),
  C{EventEncoder}, C{SessionInfo}.
- L{hubsd.wamp.authorization}: C{reserved} (the C{wamp.*} rule), C{Gate}.
- L{hubsd.wamp.auth}: C{Authenticated}.
- L{hubsd.wamp.local}: C{LocalSession}, C{LocalEvent}, C{LocalInvocation},
  C{CallResult}.
- L{hubsd.wamp.payload}: C{Payload} (what hooks and local handlers see).
- L{hubsd.wamp.websocket}: C{WampWebSocketFactory} (mount with
  C{WebSocketResource} at C{/ws}).
- L{hubsd.wamp.rawsocket}: C{WampRawSocketFactory} (plain TCP endpoint).
- L{hubsd.wamp.errors}: error URIs and C{WampError}.

Where things live: serialization and raw-slice splicing in C{codec} (lazy
arguments in C{payload}), message codes and shape checks in C{messages},
byte-transport sessions in C{wire}, the per-message router logic in
C{session}, fan-out in C{broker}, RPC in C{dealer}, backpressure in
C{outgoing}, the meta API in C{meta}, URI patterns in C{patterns}, the
order of authorization (reservation, trusted, gates, rules, dynamic) in
C{authorization}.
"""
