// The Phoenix transport's mapping of the hub channel onto the room transport
// contract, against a scripted socket (the frames hubsd's gateway sends, per
// docs/phoenix-api.md). The real gateway is exercised in Chromium by
// tests/interop/test_web_client.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import { describe } from "../src/transport/errors.js";
import { PhoenixTransport } from "../src/transport/phoenix.js";

// A websocket whose server is `script(frame, socket)`: it answers each frame
// the client sends by calling socket.deliver(...) (later, as a network would).
function fakeSocketClass(script) {
  return class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      FakeSocket.last = this;
      setImmediate(() => {
        this.readyState = 1;
        this.onopen();
      });
    }

    send(text) {
      const frame = JSON.parse(text);
      this.sent.push(frame);
      setImmediate(() => script(frame, this));
    }

    deliver(...frames) {
      for (const f of frames) this.onmessage({ data: JSON.stringify(f) });
    }

    reply([joinRef, ref, topic], status, response) {
      this.deliver([joinRef, ref, topic, "phx_reply", { status, response }]);
    }

    close() {
      this.readyState = 3;
    }

    serverClose(code, reason) {
      this.readyState = 3;
      this.onclose({ code, reason });
    }
  };
}

const meta = (ref, name, presence) => ({ presence, profile: { displayName: name }, phx_ref: ref });
const HUB = { hub_id: "abc", name: "Den", slug: "den", entry_mode: "allow" };
const entity = (id, owner) => ({ networkId: id, owner, template: "#hubsd-box-media", isFirstSync: true });

// A gateway for room abc: joins, takes events:entered (a presence diff), and
// answers moderation events by `refuse(frame)`: a refusal or nothing.
function gateway({ refuse = () => null, joinError = null } = {}) {
  return (frame, socket) => {
    const [joinRef, ref, topic, event, payload] = frame;
    if (event === "phx_join") {
      if (joinError) {
        socket.reply(frame, "error", joinError);
        return;
      }
      socket.reply(frame, "ok", { hubs: [HUB], session_id: "me", session_token: "tok", perms_token: "p" });
      socket.deliver(
        [joinRef, null, topic, "presence_state", { ann: { metas: [meta("1", "Ann", "room")] }, me: { metas: [meta("2", payload.profile.displayName, "lobby")] } }],
        [joinRef, null, topic, "naf", { dataType: "u", data: entity("box1", "ann"), from_session_id: "ann" }],
        [null, null, topic, "naf", { dataType: "u", data: { networkId: "live" }, from_session_id: "ann" }],
      );
    } else if (event === "events:entered") {
      socket.deliver([null, null, topic, "presence_diff", {
        joins: { me: { metas: [{ ...meta("3", "Me", "room"), phx_ref_prev: "2" }] } },
        leaves: { me: { metas: [meta("2", "Me", "lobby")] } },
      }]);
    } else if (event === "list_entities") {
      socket.reply(frame, "ok", { data: [] });
    } else {
      const refusal = refuse(frame);
      if (refusal) socket.reply(frame, "error", refusal);
    }
  };
}

async function joined(script, handlers = {}) {
  const WebSocket = fakeSocketClass(script);
  const t = new PhoenixTransport({ url: "ws://x/socket/websocket?vsn=2.0.0", WebSocket, api: {} });
  await t.connect({ token: "old" });
  try {
    const reply = await t.join("abc", { profile: { displayName: "Me" }, creatorToken: "ct" }, handlers);
    return { t, reply, socket: WebSocket.last };
  } catch (err) {
    t.close();
    throw err;
  }
}

test("join and enter make the snapshot from the join's pushes; later events go to the handlers", async () => {
  const seen = { presence: [], naf: [] };
  const handlers = { presence: (d) => seen.presence.push(d), naf: (m) => seen.naf.push(m.data.networkId) };
  const { t, reply, socket } = await joined(gateway(), handlers);
  assert.match(socket.url, /&session_token=old$/);
  const join = socket.sent[0];
  assert.deepEqual([join[0], join[3]], [join[1], "phx_join"]);
  assert.deepEqual(join[4].profile, { displayName: "Me" });
  assert.equal(join[4].creator_assignment_token, "ct");
  assert.deepEqual(reply.room, { hub_sid: "abc", ...HUB });
  assert.equal(reply.session_token, "tok");
  const snapshot = await t.enter("abc", { profile: { displayName: "Me" }, presence: "room" });
  // Our own lobby -> room diff arrived before the barrier: it is in the snapshot, not an event.
  assert.deepEqual(Object.keys(snapshot.presence), ["ann", "me"]);
  assert.equal(snapshot.presence.me.metas[0].presence, "room");
  assert.deepEqual(snapshot.entities.map((e) => e.networkId), ["box1"]);
  assert.deepEqual(seen.naf, ["live"]);
  assert.deepEqual(seen.presence, []);
  socket.deliver([null, null, "hub:abc", "presence_diff", { joins: {}, leaves: { ann: { metas: [meta("1", "Ann", "room")] } } }]);
  assert.equal(seen.presence.length, 1);
  // events:entered went with the join's join_ref, then the list_entities barrier.
  assert.deepEqual(socket.sent.slice(1).map((f) => [f[0], f[3]]), [[join[0], "events:entered"], [join[0], "list_entities"]]);
  t.close();
});

test("an event the gateway answers only when it refuses resolves after the barrier, or rejects in the WAMP words", async () => {
  const refuse = ([, , , event]) => (event === "kick" ? { reason: "not_permitted", message: "needs kick_users" } : null);
  const { t } = await joined(gateway({ refuse }));
  await t.enter("abc", { presence: "room" });
  await t.moderate("block", "abc", "ann");
  await assert.rejects(t.moderate("kick", "abc", "ann"), (err) => {
    assert.equal(err.code, "hubsd.error.not_permitted");
    assert.equal(err.message, describe("hubsd.error.not_permitted", "needs kick_users"));
    return true;
  });
  await t.sendChat("abc", "chat", "hello");
  t.close();
});

test("join refusals carry the room core's words, as over WAMP", async () => {
  const joinError = { reason: "room_full", message: "Room full", detail: "Room full: all 1 seats are taken." };
  await assert.rejects(joined(gateway({ joinError })), (err) => {
    assert.equal(err.code, "hubsd.error.room_full");
    assert.equal(err.message, "The room is full. Room full: all 1 seats are taken.");
    return true;
  });
});

test("a kick says by whom; a 1000 close without the push is still a kick; other closes are drops", async () => {
  const kicks = [];
  const drops = [];
  const { t, socket } = await joined(gateway(), { kicked: (m) => kicks.push(m) });
  t.onDisconnect((code) => drops.push(code));
  socket.deliver([null, null, "hub:abc", "kicked", { session_id: "me", by: "ann", reason: "" }]);
  assert.deepEqual(kicks, [{ session_id: "me", by: "ann", reason: "" }]);
  socket.serverClose(1000, "kicked");
  assert.deepEqual(kicks.slice(1), [{}]);
  assert.deepEqual(drops, []);
  const again = await joined(gateway());
  again.t.onDisconnect((code) => drops.push(code));
  again.socket.serverClose(1001, "idle timeout");
  assert.deepEqual(drops, ["connection_lost"]);
  assert.equal(again.t.connected, false);
});
