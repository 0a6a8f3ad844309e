// The room transport over hubsd's Phoenix gateway (docs/phoenix-api.md), the
// protocol of the Hubs web client: one `hub:<sid>` channel per room on
// /socket/websocket?vsn=2.0.0. See transport/contract.js for what each
// method promises. Lobby operations the gateway does not have (list public
// rooms, create, describe) go through the HTTP API (transport/http.js), as a
// Hubs client does.
//
// How the contract maps onto the channel:
// - join is the channel's phx_join (with the visit's profile; the server
//   seats the member and enters it in the lobby); its reply, the
//   presence_state and the room's entities (naf pushes with the join's
//   join_ref) that follow it make the snapshot enter returns; enter sends
//   `events:entered` (presence "room").
// - Events the gateway answers only when it refuses them (message, kick,
//   mute, block, close_hub, events:*) are followed by a `list_entities`
//   request: the server handles a socket's frames in order, so its reply
//   says the event before it was taken (docs/phoenix-api.md, Lifecycle).
// - naf is never answered (a refused spawn is dropped, as by reticulum), so
//   a guaranteed sendNaf cannot learn of a refusal here.
// - A kick closes the socket with 1000 after a `kicked` push saying by whom.
// - sfu(name, kwargs) is the channel's `sfu:<name>` event (docs/phoenix-api.md,
//   "voice and video"): the same operation as the WAMP procedure
//   hubsd.sfu.<name>, without `hub_sid` (the channel names the room; an
//   operation on a handle goes to the channel that handle came from). The
//   `sfu:*` pushes are sfuEvents' events, and `unmute` is an event answered
//   only when refused.
import { PresenceMap } from "../room/presence.js";
import { ConnectAttempts } from "./attempts.js";
import { RoomError } from "./errors.js";
import { HubsApi } from "./http.js";
import { PhoenixSocket } from "./phoenix-socket.js";

// Join refusals (reasons as Hubs tells them apart) -> the WAMP API's error URIs.
const JOIN_REASONS = {
  not_found: "hubsd.error.no_such_room",
  closed: "hubsd.error.room_closed",
  join_denied: "hubsd.error.join_denied",
  room_full: "hubsd.error.room_full",
  "join crashed": "hubsd.error.invalid_payload",
};
// Other reasons that are not the tail of a room error URI.
const REASONS = {
  "unmatched topic": "hubsd.error.not_joined",
  unknown_event: "hubsd.error.not_supported",
  too_many_channels: "hubsd.error.rate_limited",
  "internal error": "connection_lost",
};

/** A Phoenix error reply's response ({reason, message, detail?}) as a RoomError. */
export function phoenixError(response = {}) {
  const { reason, message, detail } = response || {};
  const code = JOIN_REASONS[reason] || REASONS[reason] || (reason ? `hubsd.error.${reason}` : "hubsd.error.invalid_payload");
  // A join refusal's message is Hubs' short one ("Room full"); detail has the room core's words.
  return new RoomError(code, detail || message || "");
}

// Reasons of an `sfu:*` refusal that are not the tail of an SFU error URI:
// the gateway's own (the channel, the payload's shape), as for any event.
const NOT_SFU_REASONS = new Set(["invalid_payload", ...Object.keys(REASONS)]);

/**
 * An `sfu:*` error reply as a RoomError with the WAMP SFU procedure's URI
 * (hubsd.sfu.error.<reason>), so that voice reads one set of codes. A server
 * that answers `unknown_event` has no SFU events on this connection at all
 * (a hubsd from before they were added): voice_unavailable.
 */
export function sfuError(response = {}) {
  const { reason, message } = response || {};
  if (reason === "unknown_event") return new RoomError("voice_unavailable");
  if (!reason || NOT_SFU_REASONS.has(reason)) return phoenixError(response);
  return new RoomError(`hubsd.sfu.error.${reason}`, message || "");
}

// The SFU's pushes on a hub channel: `sfu:<event>` is the WAMP events topic's {event, ...}.
const SFU_PUSH = "sfu:";

const MODERATION = {
  kick: "kick", mute: "mute", block: "block", unblock: "unblock", promote: "add_owner", demote: "remove_owner",
};
const CONTEXT = { mobile: false, embed: false, hmd: false };
const lost = (err) => (err instanceof RoomError ? err : new RoomError("connection_lost", err && err.message));

/** The Phoenix gateway's URL for the server that served this page. */
export function phoenixUrl(location = window.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/socket/websocket?vsn=2.0.0`;
}

export class PhoenixTransport {
  /** @param {{url: string, api?: HubsApi, WebSocket?: function}} options */
  constructor({ url, api = new HubsApi(), WebSocket = globalThis.WebSocket }) {
    this.url = url;
    this.api = api;
    this.WebSocket = WebSocket;
    this.socket = null;
    this.rooms = new Map(); // topic -> {sid, topic, joinRef, handlers, gathering, sfu}
    this.handles = new Map(); // SFU handle id -> the sid of the channel it came from
    this.dropListener = () => {};
    this.attempts = new ConnectAttempts();
  }

  connect({ token } = {}) {
    return this.attempts.share(token, () => this.open(token));
  }

  open(token) {
    if (this.socket) this.close();
    const url = token ? `${this.url}&session_token=${encodeURIComponent(token)}` : this.url;
    const socket = new PhoenixSocket(url, {
      WebSocket: this.WebSocket,
      onFrame: (frame) => this.received(frame),
      onClose: (code, reason) => this.closed(socket, code, reason),
    });
    this.socket = socket;
    return socket.open().catch(() => {
      if (this.socket === socket) this.socket = null;
      throw new RoomError("unreachable");
    });
  }

  get connected() {
    return this.socket !== null && this.socket.isOpen;
  }

  onDisconnect(listener) {
    this.dropListener = listener;
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    this.rooms.clear();
    this.handles.clear();
    if (socket) socket.close();
  }

  // The socket closed without close(): a kick (1000, after the `kicked`
  // push, which ended the visit already unless the push was missing), or a drop.
  closed(socket, code, reason) {
    if (this.socket !== socket) return;
    this.socket = null;
    const rooms = [...this.rooms.values()];
    this.rooms.clear();
    this.handles.clear(); // the server ended them with the socket
    if (code === 1000 && reason === "kicked") {
      for (const room of rooms) if (room.handlers.kicked) room.handlers.kicked({});
      return;
    }
    this.dropListener("connection_lost", reason);
  }

  listPublic() {
    return this.api.listPublic();
  }

  create(fields) {
    return this.api.create(fields);
  }

  describe(sid) {
    return this.api.describe(sid);
  }

  room(sid) {
    const room = this.rooms.get(`hub:${sid}`);
    if (!room || !this.connected) throw new RoomError(this.connected ? "hubsd.error.not_joined" : "connection_lost");
    return room;
  }

  async request(sid, event, payload = {}, refusal = phoenixError) {
    const room = this.room(sid);
    let answer;
    try {
      answer = await this.socket.request(room.joinRef, room.topic, event, payload);
    } catch (err) {
      throw lost(err);
    }
    if (answer.status !== "ok") throw refusal(answer.response);
    return answer.response || {};
  }

  // An event answered only when refused, then a barrier (see the top).
  async quiet(sid, event, payload = {}) {
    const room = this.room(sid);
    const socket = this.socket;
    const ref = socket.send(room.joinRef, room.topic, event, payload);
    const refusal = socket.reply(ref);
    let first;
    try {
      first = await Promise.race([refusal, socket.request(room.joinRef, room.topic, "list_entities", {})]);
    } catch (err) {
      throw lost(err);
    } finally {
      socket.forget(ref);
    }
    if (first.status !== "ok") throw phoenixError(first.response);
  }

  async join(sid, { invite, creatorToken, profile } = {}, handlers = {}) {
    if (!this.connected) throw new RoomError("connection_lost");
    const topic = `hub:${sid}`;
    const room = {
      sid, topic, joinRef: null, handlers,
      gathering: { presence: new PresenceMap(), entities: [] },
      sfu: new Set(), // sfuEvents' listeners
    };
    this.rooms.set(topic, room);
    const payload = { profile: profile || {}, context: CONTEXT };
    if (invite) payload.hub_invite_id = invite;
    if (creatorToken) payload.creator_assignment_token = creatorToken;
    let answer;
    try {
      answer = await this.socket.request(null, topic, "phx_join", payload);
    } catch (err) {
      throw lost(err);
    }
    if (answer.status !== "ok") {
      if (this.rooms.get(topic) === room) this.rooms.delete(topic);
      throw phoenixError(answer.response);
    }
    room.joinRef = answer.ref;
    const reply = answer.response;
    const hub = reply.hubs && reply.hubs[0];
    return {
      session_id: reply.session_id,
      session_token: reply.session_token,
      perms_token: reply.perms_token,
      room: hub ? { hub_sid: hub.hub_id, ...hub } : null,
    };
  }

  async enter(sid, { presence = "room" } = {}) {
    const room = this.room(sid);
    if (presence === "room") await this.quiet(sid, "events:entered", {});
    else await this.request(sid, "list_entities", {}); // the snapshot's pushes are in
    const { gathering } = room;
    room.gathering = null;
    return { presence: gathering ? gathering.presence.state() : {}, entities: gathering ? gathering.entities : [], pinned: [] };
  }

  async leave(sid) {
    const room = this.room(sid);
    await this.request(sid, "phx_leave", {});
    this.forgetRoom(room.sid);
  }

  // The channel of room `sid` is gone, and the SFU handles it had with it.
  forgetRoom(sid) {
    this.rooms.delete(`hub:${sid}`);
    this.forgetHandles(sid);
  }

  forgetHandles(sid) {
    for (const [handle, of] of this.handles) if (of === sid) this.handles.delete(handle);
  }

  updatePresence(sid, fields) {
    const events = [];
    for (const [key, value] of Object.entries(fields)) {
      if (key === "profile") events.push(["events:profile_updated", { profile: value }]);
      else if (key === "presence") events.push([value === "room" ? "events:entered" : "events:entering", {}]);
      else if (key === "typing") events.push([value ? "events:begin_typing" : "events:end_typing", {}]);
      else if (key === "hand_raised") events.push([value ? "events:raise_hand" : "events:lower_hand", {}]);
      else return Promise.reject(new RoomError("hubsd.error.invalid_payload", `${key} cannot be set over this connection`));
    }
    return Promise.all(events.map(([event, payload]) => this.quiet(sid, event, payload)));
  }

  permsToken(sid) {
    return this.request(sid, "refresh_perms_token");
  }

  moderate(action, sid, sessionId) {
    const event = MODERATION[action];
    if (!event) return Promise.reject(new RoomError("hubsd.error.invalid_payload", `no action ${action}`));
    return this.quiet(sid, event, { session_id: sessionId });
  }

  async invite(sid) {
    const { hub_invite_id: invite } = await this.request(sid, "fetch_invite");
    return { invite };
  }

  closeRoom(sid) {
    return this.quiet(sid, "close_hub");
  }

  unmute(sid) {
    return this.quiet(sid, "unmute");
  }

  /** The SFU operation `name` (docs/sfu.md) as the channel's `sfu:<name>` event. */
  async sfu(name, kwargs = {}) {
    const { hub_sid: named, ...payload } = kwargs;
    const sid = named !== undefined ? named : this.handles.get(payload.handle_id);
    if (sid === undefined) {
      // Not a handle of this connection's: the server would not know it either.
      throw new RoomError("hubsd.sfu.error.no_such_handle", `no handle ${payload.handle_id} on this connection`);
    }
    const result = await this.request(sid, `sfu:${name}`, payload, sfuError);
    if (result.handle_id !== undefined) this.handles.set(result.handle_id, sid);
    if (name === "close") this.handles.delete(payload.handle_id);
    if (name === "leave") this.forgetHandles(sid);
    return result;
  }

  /**
   * The room's SFU events as WAMP's hubsd.sfu.<sid>.events gives them
   * ({event, ...}); the server sends them from a successful sfu:join on.
   */
  async sfuEvents(sid, fn) {
    const { sfu } = this.room(sid);
    sfu.add(fn);
    return () => sfu.delete(fn);
  }

  async sendNaf(sid, envelope, guaranteed) {
    let room;
    try {
      room = this.room(sid);
    } catch (err) {
      if (guaranteed) throw err;
      return;
    }
    this.socket.send(room.joinRef, room.topic, "naf", envelope);
  }

  sendChat(sid, type, body) {
    return this.quiet(sid, "message", { type, body });
  }

  // A push on a room channel, as the contract's room events.
  received([joinRef, , topic, event, payload]) {
    const room = this.rooms.get(topic);
    if (!room) return;
    const on = room.handlers;
    const call = (name, value) => {
      if (on[name]) on[name](value);
    };
    const gathering = room.gathering;
    if (event.startsWith(SFU_PUSH)) {
      const sfuEvent = { event: event.slice(SFU_PUSH.length), ...payload };
      if (sfuEvent.event === "closed") this.handles.delete(payload.handle_id);
      for (const fn of [...room.sfu]) fn(sfuEvent);
      return;
    }
    switch (event) {
      case "presence_state":
        if (gathering) gathering.presence.reset(payload);
        break;
      case "presence_diff":
        if (gathering) gathering.presence.apply(payload);
        else call("presence", payload);
        break;
      case "naf":
        // The join's own pushes (with its join_ref) are the room's entities.
        if (gathering && joinRef !== null && payload.data) gathering.entities.push(payload.data);
        else call("naf", payload);
        break;
      case "message":
        call("chat", payload);
        break;
      case "hub_refresh": {
        const hub = payload.hubs && payload.hubs[0];
        const stale = payload.stale_fields || [];
        if (hub && hub.entry_mode === "deny" && stale.includes("entry_mode")) {
          // How the gateway says the room was closed (Hubs exits on it).
          call("closed", { hub_sid: room.sid });
        } else if (hub) {
          call("refresh", { room: { hub_sid: hub.hub_id, ...hub }, session_id: payload.session_id, stale_fields: stale });
        }
        break;
      }
      case "pin":
        call("pins", { pinned: { object_id: payload.object_id, gltf: payload.gltf_node, pinned_by: payload.pinned_by } });
        break;
      case "unpin":
        call("pins", { unpinned: { object_id: payload.object_id, unpinned_by: payload.unpinned_by } });
        break;
      case "mute":
        call("muted", payload);
        break;
      case "permissions_updated":
        call("roles", {}); // the new rights come with our next presence meta
        break;
      case "block":
      case "unblock":
        call("blocked", { blocked: event === "block", session_id: payload.session_id });
        break;
      case "kicked":
        call("kicked", payload);
        break;
      case "phx_close":
        // The server ended the channel: the room closed (told above), or
        // another connection of this member took the seat over (as over
        // WAMP, this one just stops hearing the room).
        this.forgetRoom(room.sid);
        break;
      default:
        break; // events this client has no use for
    }
  }
}
