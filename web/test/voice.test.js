// The voice backend's logic that needs no browser: the speaking indicator's
// hysteresis and the words for an SFU without media (tests/interop's
// web_voice*.js run the rest in Chromium).
import assert from "node:assert/strict";
import { test } from "node:test";

import { RoomError } from "../src/transport/errors.js";
import { SfuVoice } from "../src/room/voice.js";

test("speaking starts above the level and ends after three quiet polls", () => {
  const voice = new SfuVoice({ media: null });
  const seen = [];
  voice.onSpeaking((id, on) => seen.push([id, on]));
  voice.level("a", 0.005);
  assert.deepEqual(seen, []);
  voice.level("a", 0.3);
  voice.level("a", 0.2);
  assert.deepEqual(seen, [["a", true]]);
  assert.equal(voice.isSpeaking("a"), true);
  voice.level("a", 0);
  voice.level("a", 0);
  assert.equal(voice.isSpeaking("a"), true);
  voice.level("a", 0);
  assert.deepEqual(seen, [["a", true], ["a", false]]);
  assert.equal(voice.isSpeaking("a"), false);
  // A quiet member who leaves ends nothing.
  voice.setSpeaking("b", false);
  assert.equal(seen.length, 2);
});

test("an SFU without media makes voice unavailable, in words", () => {
  const voice = new SfuVoice({ media: null });
  let changes = 0;
  voice.onState(() => { changes += 1; });
  voice.failed(new RoomError("hubsd.sfu.error.media_unavailable", "this server forwards no voice or video"));
  assert.equal(voice.available, false);
  assert.equal(voice.reason, "Voice is not available on this server.");
  voice.failed(new RoomError("hubsd.sfu.error.room_full", "room full: 24 publishers"));
  assert.equal(voice.reason, "Voice: Too many people are speaking in this room already. Room full: 24 publishers.");
  assert.equal(changes, 2);
});

test("a server with no SFU over this connection makes voice unavailable, in words", () => {
  const voice = new SfuVoice({ media: null });
  voice.failed(new RoomError("voice_unavailable"));
  assert.equal(voice.available, false);
  assert.equal(voice.reason, "Voice is not available over this connection.");
});
