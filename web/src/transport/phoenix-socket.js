// A small Phoenix channels V2 client (docs/phoenix-api.md, "Frames"): one
// websocket, frames [join_ref, ref, topic, event, payload], replies matched by
// ref, a heartbeat. Unlike the npm `phoenix` client it never reconnects or
// rejoins by itself: the room session (room/session.js) decides that, as it
// does over WAMP, so there is one reconnect policy whatever the transport.

const HEARTBEAT_MS = 30000;

export class PhoenixSocket {
  /**
   * @param {string} url ws(s)://host/socket/websocket?vsn=2.0.0&...
   * @param {{onFrame: function(Array), onClose: function(number, string),
   *          WebSocket?: function}} options onFrame gets every frame that is
   *   not a reply to a request of ours; onClose the close (code, reason) of
   *   a socket that had opened, unless close() ended it.
   */
  constructor(url, { onFrame, onClose, WebSocket = globalThis.WebSocket }) {
    this.url = url;
    this.onFrame = onFrame;
    this.onClose = onClose;
    this.WebSocket = WebSocket;
    this.ws = null;
    this.ref = 0;
    this.waiting = new Map(); // ref -> {resolve, reject}
    this.heartbeat = null;
    this.beatRef = null;
  }

  /** Open the socket; resolves once open, rejects with the close code if it never opens. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = new this.WebSocket(this.url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
        resolve();
      };
      ws.onmessage = (event) => this.received(event.data);
      ws.onclose = (event) => {
        const mine = this.ws === ws;
        this.stopped(new Error(`socket closed (${event.code})`));
        if (!opened) reject(new Error(`socket closed (${event.code}) ${event.reason || ""}`.trim()));
        else if (mine) this.onClose(event.code, event.reason || "");
      };
    });
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === 1;
  }

  // A missed heartbeat reply means the link is dead even if the socket
  // has not noticed: close it, which reports a drop.
  beat() {
    if (this.beatRef !== null) {
      const ws = this.ws;
      this.stopped(new Error("heartbeat not answered"));
      this.onClose(4000, "heartbeat not answered");
      if (ws) ws.close();
      return;
    }
    this.beatRef = this.send(null, "phoenix", "heartbeat", {});
  }

  stopped(error) {
    clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.beatRef = null;
    this.ws = null;
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }

  /** Send one frame (a push that wants no reply); its ref. A join's join_ref is its own ref. */
  send(joinRef, topic, event, payload) {
    this.ref += 1;
    const ref = String(this.ref);
    this.ws.send(JSON.stringify([event === "phx_join" ? ref : joinRef, ref, topic, event, payload]));
    return ref;
  }

  /**
   * The reply to the frame sent with `ref`: resolves with `{status,
   * response, ref}` (an "error" status too), rejects only if the socket goes
   * first. `forget(ref)` stops waiting for it.
   */
  reply(ref) {
    return new Promise((resolve, reject) => {
      this.waiting.set(ref, { resolve: (answer) => resolve({ ...answer, ref }), reject });
    });
  }

  forget(ref) {
    this.waiting.delete(ref);
  }

  /** Send a frame and wait for its reply (see reply). */
  request(joinRef, topic, event, payload) {
    if (!this.isOpen) return Promise.reject(new Error("socket not open"));
    return this.reply(this.send(joinRef, topic, event, payload));
  }

  received(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (e) {
      return; // the server sends JSON only; nothing to do with anything else
    }
    if (!Array.isArray(frame) || frame.length !== 5) return;
    const [, ref, topic, event, payload] = frame;
    if (event === "phx_reply" && topic === "phoenix" && ref === this.beatRef) {
      this.beatRef = null;
      return;
    }
    if (event === "phx_reply" && this.waiting.has(ref)) {
      const { resolve } = this.waiting.get(ref);
      this.waiting.delete(ref);
      resolve(payload || {});
      return;
    }
    this.onFrame(frame);
  }

  /** Close on purpose: no onClose, pending requests fail. */
  close() {
    const ws = this.ws;
    this.stopped(new Error("closed"));
    if (ws) {
      try {
        ws.close(1000, "bye");
      } catch (e) {
        // already closing
      }
    }
  }
}
