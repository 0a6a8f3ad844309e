// Unit tests of the client's logic without a browser (node --test web/test/):
// presence diffs, reconnect backoff and decisions, error words. The room
// transport here is a fake that records calls; the real one is exercised in
// Chromium by tests/interop/test_web_client.py.
import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { PresenceMap } from "../src/room/presence.js";
import { RoomSession, backoff } from "../src/room/session.js";
import { RoomError, describe } from "../src/transport/errors.js";

const meta = (ref, name, presence = "room", prev) => ({
  presence, profile: { displayName: name }, phx_ref: ref, ...(prev ? { phx_ref_prev: prev } : {}),
});

test("a presence update is a join of the new meta and a leave of the old", () => {
  const p = new PresenceMap();
  p.reset({ a: { metas: [meta("1", "Ann", "lobby")] } });
  p.apply({ joins: { b: { metas: [meta("2", "Bo")] } }, leaves: {} });
  p.apply({ joins: { a: { metas: [meta("3", "Ann", "room", "1")] } }, leaves: { a: { metas: [meta("1", "Ann", "lobby")] } } });
  assert.deepEqual(p.members().map(([id, m]) => [id, m.presence]), [["a", "room"], ["b", "room"]]);
  p.apply({ joins: {}, leaves: { b: { metas: [meta("2", "Bo")] } } });
  assert.deepEqual(p.members().map(([id]) => id), ["a"]);
  assert.equal(p.name("b"), "someone");
  assert.equal(p.name("a"), "Ann");
});

test("backoff doubles from half a second to eight, with jitter of a fifth", () => {
  assert.equal(backoff(1, () => 0.5), 500);
  assert.equal(backoff(2, () => 0.5), 1000);
  assert.equal(backoff(5, () => 0.5), 8000);
  assert.equal(backoff(30, () => 0.5), 8000);
  assert.equal(backoff(1, () => 0), 400);
  assert.equal(backoff(1, () => 1), 600);
});

test("every error has words, and a refused spawn says which permission", () => {
  assert.equal(new RoomError("hubsd.error.room_full", "room full: all 4 seats are taken").message,
    "The room is full. Room full: all 4 seats are taken.");
  assert.match(describe("hubsd.error.dropped", "dropped: denied"), /spawn_and_move_media/);
  assert.equal(describe("com.example.unknown", "boom"), "boom (com.example.unknown)");
  assert.equal(describe("com.example.unknown"), "The server answered com.example.unknown.");
});

class FakeTransport {
  constructor(script) {
    this.script = script; // name -> list of results (Error instances are thrown)
    this.calls = [];
    this.connected = false;
    this.drop = null;
  }
  next(name, ...args) {
    this.calls.push([name, ...args]);
    const queue = this.script[name] || [];
    const answer = queue.length > 1 ? queue.shift() : queue[0];
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  }
  connect(opts) { return this.next("connect", opts).then((v) => { this.connected = true; return v; }); }
  onDisconnect(fn) { this.drop = fn; }
  close() { this.connected = false; this.calls.push(["close"]); }
  join(sid, opts, handlers) { this.handlers = handlers; return this.next("join", sid, opts); }
  enter(sid, opts) { return this.next("enter", sid, opts); }
}

const JOINED = { session_id: "me", session_token: "tok", room: { name: "R" }, roles: {}, permissions: {}, resumed: false };
const SNAPSHOT = { presence: { me: { metas: [meta("1", "Me")] } }, entities: [], pinned: [] };

test("a dropped connection reconnects with the session token and says so", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const t = new FakeTransport({
      connect: [undefined, new RoomError("unreachable"), undefined],
      join: [JOINED, { ...JOINED, resumed: true }],
      enter: [SNAPSHOT],
    });
    const s = new RoomSession(t, "sid1", { profile: { displayName: "Me" } });
    const states = [];
    s.addEventListener("status", (e) => states.push([e.detail.state, e.detail.text]));
    await s.start();
    assert.equal(s.sessionId, "me");
    t.drop("connection_lost", "");
    assert.match(states.at(-1)[1], /^The connection to the server was lost\. Reconnecting in 1 s \(attempt 1\)/);
    mock.timers.tick(700);
    await new Promise((r) => setImmediate(r));
    // The first attempt found no server: the next one waits longer.
    assert.match(states.at(-1)[1], /^The server cannot be reached\. Reconnecting in [12] s \(attempt 2\)/);
    mock.timers.tick(1300);
    for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    assert.deepEqual(states.at(-1), ["in-room", "Reconnected."]);
    const connects = t.calls.filter((c) => c[0] === "connect").map((c) => c[1]);
    assert.deepEqual(connects, [{}, { token: "tok" }, { token: "tok" }]);
  } finally {
    mock.timers.reset();
  }
});

test("a room that will not take the member back ends the visit in words", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const t = new FakeTransport({
      connect: [undefined],
      join: [JOINED, new RoomError("hubsd.error.room_closed", "room sid1 is closed")],
      enter: [SNAPSHOT],
    });
    const s = new RoomSession(t, "sid1", { profile: { displayName: "Me" } });
    const left = [];
    s.addEventListener("left", (e) => left.push(e.detail.text));
    await s.start();
    t.drop("connection_lost", "");
    mock.timers.tick(700);
    for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    assert.deepEqual(left, ["This room is closed. Room sid1 is closed."]);
    assert.equal(s.state, "left");
  } finally {
    mock.timers.reset();
  }
});

test("a kick ends the visit and names who did it", async () => {
  const t = new FakeTransport({ connect: [undefined], join: [JOINED], enter: [{
    ...SNAPSHOT, presence: { ...SNAPSHOT.presence, mod: { metas: [meta("2", "Mo")] } },
  }] });
  const s = new RoomSession(t, "sid1", { profile: { displayName: "Me" } });
  const left = [];
  s.addEventListener("left", (e) => left.push(e.detail.text));
  await s.start();
  t.handlers.kicked({ session_id: "me", by: "mod", reason: "" });
  assert.deepEqual(left, ["You were removed from the room by Mo."]);
  assert.deepEqual(t.calls.at(-1), ["close"]);
});

test("an earlier visit's token that the server refuses gives a new member", async () => {
  const t = new FakeTransport({
    connect: [new RoomError("wamp.error.authentication_failed", "expired"), undefined],
    join: [JOINED],
    enter: [SNAPSHOT],
  });
  const s = new RoomSession(t, "sid1", { profile: { displayName: "Me" } });
  await s.start("old-token");
  const connects = t.calls.filter((c) => c[0] === "connect").map((c) => c[1]);
  assert.deepEqual(connects, [{ token: "old-token" }, {}]);
  assert.equal(s.state, "in-room");
});
