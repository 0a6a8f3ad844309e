// The seam between the client and a hubsd transport.
//
// The room page and the lobby talk to the server only through an object with
// the methods below (a "room transport"). transport/wamp.js implements it
// over the WAMP room API (docs/wamp-api.md) with autobahn-js;
// transport/phoenix.js implements the same methods over the Phoenix gateway
// (docs/phoenix-api.md); `makeTransport` in transport/index.js picks one.
// Every method that can fail rejects with a RoomError (transport/errors.js).
//
//   connect({token?})            open a connection; `token`: a session token
//                                 (reconnect as the same member) or none
//   connected                    true while a connection is open
//   onDisconnect(fn(code, msg))  the open connection ended without close()
//   close()                      end the connection on purpose
//   listPublic() -> [Room]        create(fields) -> {hub_sid, slug, creator_token}
//   describe(sid) -> Room
//   join(sid, {invite?, creatorToken?, profile?}, handlers) -> join reply
//       {session_id, session_token, room}; `profile` is the one enter will
//       give (a transport whose join enters in the lobby needs it then)
//       handlers: {presence, naf, chat, refresh, closed, pins, kicked,
//                  muted, roles, blocked}, each fn(payload); the transport
//       delivers the room's events to them from before join resolves
//   enter(sid, {profile, context, presence}) -> {presence, entities, pinned}
//   leave(sid)   updatePresence(sid, fields)   permsToken(sid)
//   moderate(action, sid, sessionId, extra?)   action: kick | mute | block |
//                                              unblock | promote | demote
//   unmute(sid)   invite(sid) -> {invite}   closeRoom(sid)
//   pin(sid, {object_id, gltf, file_id?, promotion_token?})   unpin(sid, objectId)
//   sendNaf(sid, {dataType, data}, guaranteed) -> Promise (rejects only when
//       guaranteed: the server acknowledged a refusal)
//   sendChat(sid, type, body) -> Promise
//   sfu(name, kwargs) -> result  an SFU operation (docs/sfu.md), kwargs and
//       result as the WAMP procedure hubsd.sfu.<name> has them; refusals
//       are RoomErrors with its URIs (hubsd.sfu.error.*), or
//       voice_unavailable when the server has no SFU over this connection
//   sfuEvents(sid, fn(payload)) -> unsubscribe()   the room's SFU events
//       ({event, ...} as on hubsd.sfu.<sid>.events); sid must be joined

export const ROOM_EVENTS = [
  "presence", "naf", "chat", "refresh", "closed", "pins", "kicked", "muted", "roles", "blocked",
];
