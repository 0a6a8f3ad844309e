// The room transport over WAMP (docs/wamp-api.md) with autobahn-js.
// See transport/contract.js for what each method promises.
import autobahn from "autobahn-browser";
import { ConnectAttempts } from "./attempts.js";
import { ROOM_EVENTS } from "./contract.js";
import { RoomError } from "./errors.js";

const PROCEDURE = "hubsd.room.";

function roomError(err) {
  if (err instanceof RoomError) return err;
  if (err && typeof err.error === "string") {
    const detail = Array.isArray(err.args) && typeof err.args[0] === "string" ? err.args[0] : "";
    return new RoomError(err.error, detail);
  }
  return new RoomError("connection_lost", err && err.message ? err.message : String(err || ""));
}

function value(result) {
  // hubsd answers with one positional value; autobahn hands back a Result
  // only when there are keyword results or several values.
  if (result instanceof autobahn.Result) {
    return result.args && result.args.length ? result.args[0] : result.kwargs;
  }
  return result;
}

export class WampTransport {
  /** @param {{url: string, realm: string}} options */
  constructor({ url, realm }) {
    this.url = url;
    this.realm = realm;
    this.session = null;
    this.connection = null;
    this.dropListener = () => {};
    this.attempts = new ConnectAttempts();
  }

  connect({ token } = {}) {
    return this.attempts.share(token, () => {
      if (this.connection) this.close();
      return this.open(token);
    });
  }

  open(token) {
    return new Promise((resolve, reject) => {
      let opened = false;
      const options = {
        url: this.url,
        realm: this.realm,
        serializers: [new autobahn.serializer.JSONSerializer()],
        max_retries: 0, // the room session does its own backoff (room/session.js)
        retry_if_unreachable: false,
        authmethods: token ? ["ticket"] : ["anonymous"],
      };
      if (token) {
        options.authid = "member";
        options.onchallenge = (session, method) => {
          if (method === "ticket") return token;
          throw new Error(`unexpected challenge ${method}`);
        };
      }
      const connection = new autobahn.Connection(options);
      this.connection = connection;
      connection.onopen = (session) => {
        opened = true;
        this.session = session;
        resolve();
      };
      connection.onclose = (reason, details) => {
        const mine = this.connection === connection;
        if (mine) {
          this.session = null;
          this.connection = null;
        }
        const message = (details && details.message) || "";
        const abort = details && details.reason;
        if (!opened) {
          const refused = abort && abort.startsWith("wamp.error.");
          reject(new RoomError(refused ? abort : "unreachable", refused ? message : ""));
        } else if (mine && reason !== "closed") {
          this.dropListener("connection_lost", message);
        } else if (mine) {
          // A clean close we did not ask for: the server said GOODBYE.
          this.dropListener(abort || "connection_lost", message);
        }
        return true; // never let autobahn retry on its own
      };
      connection.open();
    });
  }

  /** True while a WAMP session is open. */
  get connected() {
    return this.session !== null;
  }

  onDisconnect(listener) {
    this.dropListener = listener;
  }

  close() {
    const connection = this.connection;
    this.connection = null;
    this.session = null;
    if (connection) {
      try {
        connection.close();
      } catch (e) {
        // already closing: nothing left to end
      }
    }
  }

  async call(name, kwargs = {}) {
    if (!this.session) throw new RoomError("connection_lost");
    try {
      return value(await this.session.call(PROCEDURE + name, [], kwargs));
    } catch (err) {
      throw roomError(err);
    }
  }

  /** Call an SFU procedure (docs/sfu.md): hubsd.sfu.<name>. */
  async sfu(name, kwargs = {}) {
    if (!this.session) throw new RoomError("connection_lost");
    try {
      return value(await this.session.call(`hubsd.sfu.${name}`, [], kwargs));
    } catch (err) {
      throw roomError(err);
    }
  }

  /** Subscribe to hubsd.sfu.<sid>.events; resolves with a function that unsubscribes. */
  async sfuEvents(sid, handler) {
    if (!this.session) throw new RoomError("connection_lost");
    const session = this.session;
    try {
      const subscription = await session.subscribe(`hubsd.sfu.${sid}.events`, (args, kwargs) => handler(kwargs || {}));
      return () => {
        if (session.isOpen) session.unsubscribe(subscription).catch(() => {});
      };
    } catch (err) {
      throw roomError(err);
    }
  }

  listPublic() {
    return this.call("list_public");
  }

  create(fields) {
    return this.call("create", fields);
  }

  describe(sid) {
    return this.call("describe", { hub_sid: sid });
  }

  async join(sid, { invite, creatorToken } = {}, handlers = {}) {
    const args = { hub_sid: sid };
    if (invite) args.invite = invite;
    if (creatorToken) args.creator_token = creatorToken;
    const reply = await this.call("join", args);
    // Subscribe between join and enter: nothing falls between the enter
    // snapshot and the first event (docs/wamp-api.md, "The flow of a visit").
    try {
      await Promise.all(
        ROOM_EVENTS.map((name) =>
          this.session.subscribe(`hubsd.room.${sid}.${name}`, (args, kwargs) => {
            const handler = handlers[name];
            if (handler) handler(kwargs || {});
          }),
        ),
      );
    } catch (err) {
      throw roomError(err);
    }
    return reply;
  }

  enter(sid, { profile, context = {}, presence = "room" }) {
    return this.call("enter", { hub_sid: sid, profile, context, presence });
  }

  leave(sid) {
    return this.call("leave", { hub_sid: sid });
  }

  updatePresence(sid, fields) {
    return this.call("update_presence", { hub_sid: sid, ...fields });
  }

  permsToken(sid) {
    return this.call("perms_token", { hub_sid: sid });
  }

  moderate(action, sid, sessionId, extra = {}) {
    return this.call(action, { hub_sid: sid, session_id: sessionId, ...extra });
  }

  invite(sid) {
    return this.call("invite", { hub_sid: sid });
  }

  closeRoom(sid) {
    return this.call("close", { hub_sid: sid });
  }

  unmute(sid) {
    return this.call("unmute", { hub_sid: sid });
  }

  pin(sid, { object_id, gltf, file_id, promotion_token }) {
    const args = { hub_sid: sid, object_id, gltf };
    if (file_id) args.file_id = file_id;
    if (promotion_token) args.promotion_token = promotion_token;
    return this.call("pin", args);
  }

  unpin(sid, objectId) {
    return this.call("unpin", { hub_sid: sid, object_id: objectId });
  }

  async publish(sid, topic, kwargs, acknowledge) {
    if (!this.session) {
      if (acknowledge) throw new RoomError("connection_lost");
      return;
    }
    try {
      const done = this.session.publish(`hubsd.room.${sid}.${topic}`, [], kwargs, { acknowledge });
      if (acknowledge) await done;
    } catch (err) {
      throw roomError(err);
    }
  }

  sendNaf(sid, envelope, guaranteed) {
    return this.publish(sid, "naf", envelope, guaranteed);
  }

  sendChat(sid, type, body) {
    return this.publish(sid, "chat", { type, body }, true);
  }
}
