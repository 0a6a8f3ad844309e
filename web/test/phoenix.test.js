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

// A gateway whose SFU answers `sfu:<name>` by `sfu[name](payload, frame)`:
// [status, response], or nothing for no reply yet; everything else as gateway().
function sfuGateway(sfu, options = {}) {
  const room = gateway(options);
  return (frame, socket) => {
    const [, , , event, payload] = frame;
    if (event.startsWith("sfu:")) {
      const answer = (sfu[event.slice(4)] || (() => ["error", { reason: "unknown_event", message: event }]))(payload, frame, socket);
      if (answer) socket.reply(frame, ...answer);
    } else {
      room(frame, socket);
    }
  };
}

test("sfu(name) is the hub channel's sfu:<name> event: no hub_sid, the join's join_ref, the reply as WAMP's result", async () => {
  let handles = 0;
  const sfu = {
    join: () => ["ok", { publishers: [{ session_id: "ann", kinds: ["audio"] }], max_publishers: 24, codecs: { audio: ["opus"] } }],
    publish: () => ["ok", { handle_id: `h${(handles += 1)}`, sdp: "v=0 answer" }],
    subscribe: ({ session_id: id }) => ["ok", { handle_id: `h${(handles += 1)}`, sdp: `v=0 offer of ${id}` }],
    answer: () => ["ok", {}],
    close: () => ["ok", {}],
    leave: () => ["ok", {}],
  };
  const { t, socket } = await joined(sfuGateway(sfu));
  await t.enter("abc", { presence: "room" });
  const joinRef = socket.sent[0][0];
  const media = await t.sfu("join", { hub_sid: "abc", perms_token: "p" });
  assert.deepEqual(media.publishers, [{ session_id: "ann", kinds: ["audio"] }]);
  assert.deepEqual(await t.sfu("publish", { hub_sid: "abc", sdp: "v=0 offer" }), { handle_id: "h1", sdp: "v=0 answer" });
  const sub = await t.sfu("subscribe", { hub_sid: "abc", session_id: "ann" });
  assert.equal(sub.sdp, "v=0 offer of ann");
  // A handle's operations go to the channel it came from.
  assert.deepEqual(await t.sfu("answer", { handle_id: sub.handle_id, sdp: "v=0 my answer" }), {});
  await t.sfu("close", { handle_id: sub.handle_id });
  await t.sfu("leave", { hub_sid: "abc" });
  const sent = socket.sent.filter((f) => f[3].startsWith("sfu:"));
  assert.deepEqual(sent.map((f) => [f[0], f[2], f[3], f[4]]), [
    [joinRef, "hub:abc", "sfu:join", { perms_token: "p" }],
    [joinRef, "hub:abc", "sfu:publish", { sdp: "v=0 offer" }],
    [joinRef, "hub:abc", "sfu:subscribe", { session_id: "ann" }],
    [joinRef, "hub:abc", "sfu:answer", { handle_id: "h2", sdp: "v=0 my answer" }],
    [joinRef, "hub:abc", "sfu:close", { handle_id: "h2" }],
    [joinRef, "hub:abc", "sfu:leave", {}],
  ]);
  // Closed, and the others ended with leave: this connection has no such handles any more.
  for (const handle of ["h1", "h2"]) {
    await assert.rejects(t.sfu("answer", { handle_id: handle, sdp: "x" }), (err) => err.code === "hubsd.sfu.error.no_such_handle");
  }
  assert.equal(socket.sent.filter((f) => f[3].startsWith("sfu:")).length, sent.length);
  t.close();
});

test("replies to sfu events that come back out of order reach their own requests", async () => {
  const slow = [];
  const sfu = {
    publish: (payload, frame, socket) => {
      slow.push(() => socket.reply(frame, "ok", { handle_id: "pub", sdp: "answer" }));
    },
    subscribe: (payload, frame, socket) => {
      socket.reply(frame, "ok", { handle_id: "sub", sdp: "offer" });
      for (const send of slow.splice(0)) send();
    },
  };
  const { t } = await joined(sfuGateway(sfu));
  await t.enter("abc", { presence: "room" });
  const publish = t.sfu("publish", { hub_sid: "abc", sdp: "offer" });
  const subscribe = t.sfu("subscribe", { hub_sid: "abc", session_id: "ann" });
  assert.equal((await subscribe).handle_id, "sub");
  assert.equal((await publish).handle_id, "pub");
  t.close();
});

test("sfu refusals carry the SFU's error URIs and words; a server without sfu events has no voice over this connection", async () => {
  const sfu = {
    join: ({ perms_token: token }) => ["error", token === "stale"
      ? { reason: "invalid_token", message: "perms token expired" }
      : { reason: "invalid_payload", message: "sfu:join: unexpected keyword argument 'x'" }],
    publish: () => ["error", { reason: "room_full", message: "room full: 24 publishers" }],
    subscribe: () => ["error", { reason: "no_such_publisher", message: "ann does not publish" }],
    answer: () => ["error", { reason: "not_joined", message: "join the SFU first" }],
  };
  const { t } = await joined(sfuGateway(sfu));
  await t.enter("abc", { presence: "room" });
  const refused = async (call, code, detail) => {
    await assert.rejects(call, (err) => {
      assert.equal(err.code, code);
      assert.equal(err.message, describe(code, detail));
      return true;
    });
  };
  await refused(t.sfu("join", { hub_sid: "abc", perms_token: "stale" }), "hubsd.sfu.error.invalid_token", "perms token expired");
  await refused(t.sfu("join", { hub_sid: "abc", perms_token: "p", x: 1 }), "hubsd.error.invalid_payload", "sfu:join: unexpected keyword argument 'x'");
  await refused(t.sfu("publish", { hub_sid: "abc", sdp: "v=0" }), "hubsd.sfu.error.room_full", "room full: 24 publishers");
  await refused(t.sfu("subscribe", { hub_sid: "abc", session_id: "ann" }), "hubsd.sfu.error.no_such_publisher", "ann does not publish");
  // A room this connection is not in.
  await refused(t.sfu("join", { hub_sid: "elsewhere", perms_token: "p" }), "hubsd.error.not_joined", "");
  t.close();
  // An older hubsd, without sfu events, answers unknown_event: no voice here, said as such.
  const older = await joined(sfuGateway({}));
  await older.t.enter("abc", { presence: "room" });
  await refused(older.t.sfu("join", { hub_sid: "abc", perms_token: "p" }), "voice_unavailable", "");
  assert.equal(describe("voice_unavailable"), "Voice is not available over this connection.");
  older.t.close();
});

test("sfuEvents hears the channel's sfu:* pushes as the WAMP events topic's {event, ...}, until unsubscribed", async () => {
  const sfu = { subscribe: () => ["ok", { handle_id: "h1", sdp: "offer" }] };
  const { t, socket } = await joined(sfuGateway(sfu));
  await t.enter("abc", { presence: "room" });
  const seen = [];
  const chat = [];
  t.rooms.get("hub:abc").handlers.chat = (m) => chat.push(m.body);
  const unsubscribe = await t.sfuEvents("abc", (e) => seen.push(e));
  await t.sfu("subscribe", { hub_sid: "abc", session_id: "ann" });
  socket.deliver(
    [null, null, "hub:abc", "sfu:publisher", { session_id: "bo", kinds: ["audio"] }],
    [null, null, "hub:other", "sfu:publisher", { session_id: "cy", kinds: ["audio"] }],
    [null, null, "hub:abc", "message", { type: "chat", body: "hi", session_id: "ann" }],
    [null, null, "hub:abc", "sfu:closed", { handle_id: "h1", reason: "publisher_gone" }],
  );
  assert.deepEqual(seen, [
    { event: "publisher", session_id: "bo", kinds: ["audio"] },
    { event: "closed", handle_id: "h1", reason: "publisher_gone" },
  ]);
  assert.deepEqual(chat, ["hi"]);
  // The server ended h1: it is no handle of ours any more.
  await assert.rejects(t.sfu("close", { handle_id: "h1" }), (err) => err.code === "hubsd.sfu.error.no_such_handle");
  unsubscribe();
  socket.deliver([null, null, "hub:abc", "sfu:unpublished", { session_id: "bo", reason: "left" }]);
  assert.equal(seen.length, 2);
  await assert.rejects(t.sfuEvents("other", () => {}), (err) => err.code === "hubsd.error.not_joined");
  t.close();
});

test("unmute is the hub channel's unmute event: quiet when taken, a room error when refused", async () => {
  let refuse = null;
  const { t, socket } = await joined(gateway({ refuse: ([, , , event]) => (event === "unmute" ? refuse : null) }));
  await t.enter("abc", { presence: "room" });
  await t.unmute("abc");
  const unmute = socket.sent.findIndex((f) => f[3] === "unmute");
  assert.deepEqual(socket.sent.slice(unmute).map((f) => [f[0], f[3], f[4]]), [
    [socket.sent[0][0], "unmute", {}],
    [socket.sent[0][0], "list_entities", {}],
  ]);
  refuse = { reason: "not_joined", message: "not seated" };
  await assert.rejects(t.unmute("abc"), (err) => err.code === "hubsd.error.not_joined");
  t.close();
});
