// One visit to one room: join, enter, the room's events, and reconnection.
//
// A RoomSession owns its transport. When the connection drops it reconnects
// with backoff as the same member (the session token as WAMP ticket), so
// within the server's reconnect grace the seat, presence and entities are
// kept; it says what it is doing through "status" events. Events (an
// EventTarget; detail in `event.detail`):
//   status   {state: "connecting"|"in-room"|"reconnecting"|"left", text, delay?, attempt?}
//   presence (the PresenceMap changed)      snapshot {entities, pinned, resumed}
//   naf      {dataType, data, from_session_id}
//   chat     {type, body, session_id}
//   notice   {text, kind}  words for the person (errors, moderation)
//   left     {text}        the visit is over (kicked, closed, gave up)
import { RoomError } from "../transport/errors.js";
import { PresenceMap } from "./presence.js";

/** Delays (ms) between reconnect attempts: doubling from 500 ms to 8 s, with jitter. */
export function backoff(attempt, random = Math.random) {
  const base = Math.min(8000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

const MAX_ATTEMPTS = 12;
// These answers mean the room will not take us back: stop retrying.
const FINAL = new Set([
  "hubsd.error.no_such_room",
  "hubsd.error.room_closed",
  "hubsd.error.join_denied",
  "hubsd.error.room_full",
]);

export class RoomSession extends EventTarget {
  /**
   * @param {object} transport a room transport (transport/contract.js)
   * @param {string} sid the room's hub_sid
   * @param {{profile: object, invite?: string, creatorToken?: string}} visit
   */
  constructor(transport, sid, visit) {
    super();
    this.transport = transport;
    this.sid = sid;
    this.visit = visit;
    this.presence = new PresenceMap();
    this.sessionId = null;
    this.token = null;
    this.room = null;
    this.roles = {};
    this.permissions = {};
    this.state = "connecting";
    this.attempt = 0;
    this.timer = null;
    this.clockOffset = 0;
    this.snapshot = null;
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  status(state, text, extra = {}) {
    this.state = state;
    this.emit("status", { state, text, ...extra });
  }

  notice(text, kind = "error") {
    this.emit("notice", { text, kind });
  }

  /**
   * Connect (as the member of `token`, an earlier visit's session token, if
   * given and still valid), join and enter; resolves with the snapshot,
   * rejects with a RoomError.
   */
  async start(token) {
    this.status("connecting", "Connecting…");
    if (token) {
      try {
        await this.transport.connect({ token });
      } catch (err) {
        if (err.code !== "wamp.error.authentication_failed") throw err;
        await this.transport.connect({}); // expired or from another server: a new member
      }
    } else if (!this.transport.connected) {
      await this.transport.connect({});
    }
    return this.enterRoom(false);
  }

  handlers() {
    return {
      presence: (diff) => {
        this.presence.apply(diff);
        this.syncSelf();
        this.emit("presence");
      },
      naf: (msg) => this.emit("naf", msg),
      chat: (msg) => this.emit("chat", msg),
      refresh: (msg) => {
        if (msg.room) this.room = msg.room;
        this.emit("refresh", msg);
      },
      closed: () => this.end("The room was closed."),
      pins: (msg) => this.emit("pins", msg),
      kicked: (msg) => {
        const by = msg.by ? this.presence.name(msg.by) : "a moderator";
        const reason = msg.reason ? `: ${msg.reason}` : ".";
        this.end(`You were removed from the room by ${by}${reason}`);
      },
      muted: (msg) => {
        this.notice(`${this.presence.name(msg.by)} muted your microphone.`, "info");
        this.emit("muted", msg);
      },
      roles: (msg) => {
        this.roles = msg.roles || this.roles;
        this.refreshRights();
      },
      blocked: (msg) =>
        this.notice(
          msg.blocked ? "Someone in the room blocked you." : "Someone unblocked you.",
          "info",
        ),
    };
  }

  async enterRoom(resuming) {
    this.transport.onDisconnect((code, message) => this.dropped(code, message));
    const reply = await this.transport.join(
      this.sid,
      { invite: this.visit.invite, creatorToken: this.visit.creatorToken, profile: this.visit.profile },
      this.handlers(),
    );
    this.sessionId = reply.session_id;
    this.token = reply.session_token;
    this.room = reply.room;
    this.roles = reply.roles || {};
    this.permissions = reply.permissions || {};
    const snapshot = await this.transport.enter(this.sid, {
      profile: this.visit.profile,
      context: { mobile: false, embed: false, hmd: false },
      presence: "room",
    });
    this.presence.reset(snapshot.presence);
    this.snapshot = snapshot;
    this.attempt = 0;
    this.status("in-room", resuming ? "Reconnected." : "");
    this.emit("presence");
    this.emit("snapshot", { ...snapshot, resumed: Boolean(reply.resumed) });
    return snapshot;
  }

  // Roles and permissions are computed by the server and sent in our meta.
  syncSelf() {
    const me = this.presence.get(this.sessionId);
    if (me && me.permissions) this.permissions = me.permissions;
    if (me && me.roles) this.roles = me.roles;
  }

  // Our roles changed (promoted, demoted): the buttons follow. The new
  // permissions arrive with our next presence meta.
  refreshRights() {
    this.syncSelf();
    this.emit("presence");
  }

  dropped(code, message) {
    if (this.state === "left") return;
    const why = new RoomError(code, message).message;
    this.scheduleReconnect(why);
  }

  scheduleReconnect(why) {
    this.attempt += 1;
    if (this.attempt > MAX_ATTEMPTS) {
      this.end(`${why} Gave up after ${MAX_ATTEMPTS} attempts; reload the page to try again.`);
      return;
    }
    const delay = backoff(this.attempt);
    this.status("reconnecting", `${why} Reconnecting in ${Math.ceil(delay / 1000)} s (attempt ${this.attempt})…`, {
      delay,
      attempt: this.attempt,
    });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reconnect(why), delay);
  }

  async reconnect(why) {
    if (this.state === "left") return;
    try {
      await this.transport.connect({ token: this.token });
    } catch (err) {
      // Our token is no good any more (expired, keys changed): come back as
      // a new member rather than not at all.
      if (err.code === "wamp.error.authentication_failed") this.token = null;
      this.scheduleReconnect(err.message);
      return;
    }
    try {
      await this.enterRoom(true);
    } catch (err) {
      if (FINAL.has(err.code)) this.end(err.message);
      else this.scheduleReconnect(err.message);
    }
  }

  /** The visit is over; `text` says why. */
  end(text) {
    if (this.state === "left") return;
    clearTimeout(this.timer);
    this.status("left", text);
    this.transport.close();
    this.emit("left", { text });
  }

  /** Leave on purpose. */
  async leave() {
    try {
      await this.transport.leave(this.sid);
    } catch (err) {
      // leaving a room we are no longer in is still leaving
    }
    this.end("You left the room.");
  }

  /** Run a room request; a refusal becomes a notice in words (and is returned). */
  async request(what) {
    try {
      await what();
      return null;
    } catch (err) {
      const error = err instanceof RoomError ? err : new RoomError("connection_lost", String(err));
      this.notice(error.message);
      return error;
    }
  }

  sendChat(text) {
    return this.request(() => this.transport.sendChat(this.sid, "chat", text));
  }

  moderate(action, sessionId) {
    return this.request(() => this.transport.moderate(action, this.sid, sessionId));
  }

  sendNaf(envelope, guaranteed) {
    if (this.state !== "in-room") return Promise.resolve();
    return this.transport.sendNaf(this.sid, envelope, guaranteed);
  }

  /**
   * Correct the page's clock by the server's Date header (NAF's ownership
   * rule compares times from every member). The header has whole seconds,
   * so only an error beyond two seconds is corrected.
   */
  async clockFromServer() {
    try {
      const answer = await fetch("/health", { cache: "no-store" });
      const server = Date.parse(answer.headers.get("date") || "");
      if (Number.isFinite(server) && Math.abs(server + 500 - Date.now()) > 2000) {
        this.clockOffset = server + 500 - Date.now();
      }
    } catch (err) {
      // unreachable: start() will say so
    }
  }

  serverTime() {
    return Date.now() + this.clockOffset;
  }
}
