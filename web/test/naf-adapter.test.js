// The networked-aframe adapter against a stand-in NAF (the real one needs a
// browser; tests/interop/test_web_client.py runs it in Chromium).
import assert from "node:assert/strict";
import { test } from "node:test";

import { HubsdAdapter, useSession } from "../src/room/naf-adapter.js";
import { PresenceMap } from "../src/room/presence.js";

function setup(snapshotEntities, localEntities = {}) {
  const sent = [];
  const resent = [];
  globalThis.NAF = {
    adapters: { IS_CONNECTED: "IS_CONNECTED", NOT_CONNECTED: "NOT_CONNECTED" },
    entities: {
      entities: Object.fromEntries(Object.entries(localEntities).map(([id, owner]) => [id, {
        components: { networked: { data: { owner }, syncAll: (to, first) => resent.push([id, to, first]) } },
      }])),
      hasEntity(id) { return id in this.entities; },
    },
  };
  const session = new EventTarget();
  session.sessionId = "me";
  session.presence = new PresenceMap();
  session.presence.reset({
    me: { metas: [{ presence: "room", phx_ref: "1" }] },
    ann: { metas: [{ presence: "room", phx_ref: "2" }] },
    lob: { metas: [{ presence: "lobby", phx_ref: "3" }] },
  });
  session.snapshot = { entities: snapshotEntities };
  session.sendNaf = (envelope, guaranteed) => { sent.push([envelope, guaranteed]); return Promise.resolve(); };
  const got = { messages: [], occupants: [], opened: [], closed: [] };
  let previous = {};
  useSession(session, {}, () => {});
  const adapter = new HubsdAdapter();
  adapter.setServerConnectListeners((id) => { got.clientId = id; }, () => {});
  // What NAF's NetworkConnection.occupantsReceived does with the list.
  adapter.setRoomOccupantListener((o) => {
    got.occupants.push(o);
    for (const id in previous) if (!o[id]) adapter.closeStreamConnection(id);
    for (const id in o) if (adapter.getConnectStatus(id) !== "IS_CONNECTED") adapter.startStreamConnection(id);
    previous = o;
  });
  adapter.setDataChannelListeners((id) => got.opened.push(id), (id) => got.closed.push(id), (...m) => got.messages.push(m));
  adapter.connect();
  return { adapter, session, sent, resent, got };
}

test("the snapshot's entities reach NAF as syncs from their owners; occupants are the others in the room", () => {
  const { got, sent, adapter } = setup([
    { networkId: "a1", owner: "ann", template: "#hubsd-avatar" },
  ]);
  assert.equal(got.clientId, "me");
  assert.deepEqual(got.occupants.at(-1), { ann: true });
  assert.deepEqual(got.opened, ["ann"]);
  assert.deepEqual(got.messages, [["ann", "u", { networkId: "a1", owner: "ann", template: "#hubsd-avatar" }, "hubsd"]]);
  assert.equal(adapter.getConnectStatus("ann"), "IS_CONNECTED");
  assert.equal(adapter.getConnectStatus("lob"), "NOT_CONNECTED");
  assert.deepEqual(sent, []);
});

test("our own entity left from an earlier page is removed; one the server lost is announced again", () => {
  const snapshot = [{ networkId: "old", owner: "me" }, { networkId: "kept", owner: "me" }];
  const { session, sent, resent, got } = setup(snapshot, { kept: "me", lost: "me", theirs: "ann" });
  assert.deepEqual(sent, [[{ dataType: "r", data: { networkId: "old" } }, true]]);
  // At the first snapshot NAF announces our entities itself.
  assert.deepEqual(resent, []);
  sent.length = 0;
  session.dispatchEvent(new CustomEvent("snapshot", { detail: { entities: snapshot.slice(1) } }));
  assert.deepEqual(resent, [["lost", undefined, true]]);
  assert.deepEqual(sent, []);
  assert.deepEqual(got.messages, []);
});

test("relayed messages are handed on with their sender; our own echo is not", () => {
  const { session, got } = setup([]);
  session.dispatchEvent(new CustomEvent("naf", { detail: { dataType: "um", data: { d: [] }, from_session_id: "ann" } }));
  session.dispatchEvent(new CustomEvent("naf", { detail: { dataType: "um", data: { d: [] }, from_session_id: "me" } }));
  assert.deepEqual(got.messages, [["ann", "um", { d: [] }, "hubsd"]]);
});

test("a member who leaves and comes back gets a new data channel (NAF then takes its first syncs)", () => {
  const { session, got } = setup([]);
  const ref = (n) => ({ metas: [{ presence: "room", phx_ref: n }] });
  session.presence.apply({ joins: {}, leaves: { ann: ref("2") } });
  session.dispatchEvent(new CustomEvent("presence"));
  session.presence.apply({ joins: { ann: ref("9") }, leaves: {} });
  session.dispatchEvent(new CustomEvent("presence"));
  assert.deepEqual(got.opened, ["ann", "ann"]);
  assert.deepEqual(got.closed, ["ann"]);
});
