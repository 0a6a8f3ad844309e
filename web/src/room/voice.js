// Voice through hubsd's SFU (docs/sfu.md).
//
// A voice backend has:
//   available: boolean            reason: string (why not, for people)
//   muted: boolean                publishing: boolean (our microphone is sent)
//   start(session) -> Promise     join the room's audio (session: RoomSession)
//   setMuted(muted, byServer?)    the microphone on or off; byServer: a
//                                 moderator muted us (unmuting then asks the
//                                 server with the transport's unmute)
//   onSpeaking(fn(sessionId, speaking: boolean))
//   onState(fn())                 available/reason/muted/publishing changed
//   getMediaStream(sessionId, kind) -> Promise<MediaStream>   (for NAF's
//                                 networked-audio-source)
//   stop()
//
// SfuVoice is the one for the SFU: one publisher peer connection for our
// microphone, one subscriber peer connection per other publisher (the
// server offers, we answer), following the room's `publisher` and
// `unpublished` events. Candidates travel in the SDP (we wait for ICE
// gathering; the server's SDP has all of its own), so nothing is trickled.
// It speaks to the SFU through the room transport's sfu/sfuEvents
// (transport/contract.js), the same over WAMP and Phoenix. After a
// reconnect (a new connection: the old one's handles are gone) it joins the
// media again.
import { RoomError } from "../transport/errors.js";

// Refusals that mean there is no voice at all here: the server runs
// without media, or offers no SFU over this connection.
const NO_VOICE = new Set(["hubsd.sfu.error.media_unavailable", "voice_unavailable"]);

// An audio level (0..1, RFC 6464 style as browsers report it) above this is
// someone speaking; the level has to stay under it for HOLD polls to stop.
const SPEAKING_LEVEL = 0.01;
const HOLD = 3;
const POLL_MS = 200;

function gathered(pc, ms = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(() => done(), ms);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export class SfuVoice {
  constructor({ media = globalThis.navigator && navigator.mediaDevices } = {}) {
    this.media = media;
    this.available = true;
    this.reason = "";
    this.muted = false;
    this.byServer = false;
    this.publishing = false;
    this.session = null;
    this.stream = null; // our microphone, kept across reconnects
    this.publisher = null; // {pc, handleId}
    this.subs = new Map(); // session id -> {pc, handleId, stream, audio, waiting}
    this.generation = 0;
    this.speaking = new Map(); // session id -> {speaking, quiet}
    this.speakingFns = [];
    this.stateFns = [];
    this.poller = null;
    this.unsubscribe = null;
    this.onSnapshot = () => {
      // Every enter after the first is a reconnect: join the media again.
      if (this.started && this.available) this.restart();
    };
  }

  /** The peer connections now open (publisher first), for tests and debugging. */
  peerConnections() {
    return [this.publisher, ...this.subs.values()].filter((x) => x && x.pc).map((x) => x.pc);
  }

  /** Whom we listen to: [{sessionId, handleId, pc}], for tests and debugging. */
  subscriptions() {
    return [...this.subs].filter(([, x]) => x.pc).map(([sessionId, x]) => ({ sessionId, handleId: x.handleId, pc: x.pc }));
  }

  onSpeaking(fn) {
    this.speakingFns.push(fn);
  }

  onState(fn) {
    this.stateFns.push(fn);
  }

  changed() {
    for (const fn of this.stateFns) fn();
  }

  unavailable(reason) {
    this.available = false;
    this.reason = reason;
    this.changed();
  }

  async start(session) {
    this.session = session;
    session.addEventListener("snapshot", this.onSnapshot);
    this.started = true;
    await this.connect(this.generation);
  }

  restart() {
    this.teardown();
    this.generation += 1;
    this.connect(this.generation).catch((err) => this.failed(err));
  }

  failed(err) {
    const error = err instanceof RoomError ? err : new RoomError("connection_lost", String(err));
    if (NO_VOICE.has(error.code)) {
      this.unavailable(new RoomError(error.code).message);
    } else {
      this.reason = `Voice: ${error.message}`;
      this.changed();
    }
  }

  async connect(gen) {
    const { transport, sid } = this.session;
    const unsubscribe = await transport.sfuEvents(sid, (event) => this.event(event, gen));
    if (gen !== this.generation) return unsubscribe();
    this.unsubscribe = unsubscribe;
    const { perms_token: permsToken } = await transport.permsToken(sid);
    const joined = await transport.sfu("join", { hub_sid: sid, perms_token: permsToken });
    if (gen !== this.generation) return undefined;
    const go = await this.publish(gen);
    if (!go || gen !== this.generation) return undefined;
    this.startPolling();
    await Promise.all(joined.publishers.map((p) => this.subscribe(p.session_id, gen)));
    return undefined;
  }

  // Send our microphone. False when the server has no media at all.
  async publish(gen) {
    const { transport, sid } = this.session;
    if (!this.stream) {
      if (!this.media || !this.media.getUserMedia) {
        this.reason = "This browser gives no microphone: you can listen, not speak.";
        this.changed();
        return true;
      }
      try {
        this.stream = await this.media.getUserMedia({ audio: true, video: false });
      } catch (err) {
        this.reason = `No microphone (${err && err.name ? err.name : err}): you can listen, not speak.`;
        this.changed();
        return true;
      }
    }
    const track = this.stream.getAudioTracks()[0];
    track.enabled = !this.muted;
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    let reply;
    try {
      reply = await transport.sfu("publish", { hub_sid: sid, sdp: pc.localDescription.sdp });
    } catch (err) {
      pc.close();
      if (NO_VOICE.has(err.code)) {
        this.dropMicrophone();
        this.unavailable(new RoomError(err.code).message);
        return false;
      }
      this.reason = `You can listen, not speak: ${err.message}`;
      this.changed();
      return true;
    }
    if (gen !== this.generation) {
      pc.close();
      return false;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this.publisher = { pc, handleId: reply.handle_id };
    this.publishing = true;
    this.reason = "";
    this.changed();
    return true;
  }

  async subscribe(sessionId, gen) {
    const { transport, sid } = this.session;
    this.unsubscribeFrom(sessionId);
    const entry = { pc: null, handleId: null, stream: null, audio: null, waiting: [] };
    this.subs.set(sessionId, entry);
    let reply;
    try {
      reply = await transport.sfu("subscribe", { hub_sid: sid, session_id: sessionId });
    } catch (err) {
      if (this.subs.get(sessionId) === entry) this.subs.delete(sessionId);
      if (err.code !== "hubsd.sfu.error.no_such_publisher") this.failed(err);
      return;
    }
    if (gen !== this.generation || this.subs.get(sessionId) !== entry) {
      transport.sfu("close", { handle_id: reply.handle_id }).catch(() => {});
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: [] });
    entry.pc = pc;
    entry.handleId = reply.handle_id;
    pc.ontrack = (e) => {
      if (e.track.kind !== "audio") return;
      entry.stream = e.streams[0] || new MediaStream([e.track]);
      // Chromium plays (and measures) remote audio only when a media
      // element renders it.
      entry.audio = new Audio();
      entry.audio.autoplay = true;
      entry.audio.srcObject = entry.stream;
      entry.audio.play().catch(() => {});
      for (const resolve of entry.waiting.splice(0)) resolve(entry.stream);
    };
    await pc.setRemoteDescription({ type: "offer", sdp: reply.sdp });
    for (const t of pc.getTransceivers()) {
      // The server offers video too; this client takes audio only.
      if (t.receiver.track.kind === "video") t.direction = "inactive";
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    if (gen !== this.generation || this.subs.get(sessionId) !== entry) return;
    try {
      await transport.sfu("answer", { handle_id: entry.handleId, sdp: pc.localDescription.sdp });
    } catch (err) {
      this.unsubscribeFrom(sessionId);
      this.failed(err);
    }
  }

  unsubscribeFrom(sessionId, tellServer = false) {
    const entry = this.subs.get(sessionId);
    if (!entry) return;
    this.subs.delete(sessionId);
    if (entry.pc) entry.pc.close();
    if (entry.audio) entry.audio.srcObject = null;
    if (tellServer && entry.handleId && this.session.transport.connected) {
      this.session.transport.sfu("close", { handle_id: entry.handleId }).catch(() => {});
    }
    this.setSpeaking(sessionId, false);
  }

  event(event, gen) {
    if (gen !== this.generation) return;
    if (event.event === "publisher") {
      this.subscribe(event.session_id, gen).catch((err) => this.failed(err));
    } else if (event.event === "unpublished") {
      this.unsubscribeFrom(event.session_id);
    } else if (event.event === "closed") {
      if (this.publisher && this.publisher.handleId === event.handle_id) {
        this.publisher.pc.close();
        this.publisher = null;
        this.publishing = false;
        if (event.reason === "worker_restarted") {
          this.restart();
          return;
        }
        this.reason = event.reason === "not_permitted"
          ? "You may no longer speak in this room."
          : `Your microphone is no longer sent (${event.reason}).`;
        this.changed();
        return;
      }
      for (const [id, entry] of this.subs) {
        if (entry.handleId === event.handle_id) this.unsubscribeFrom(id);
      }
    }
  }

  startPolling() {
    clearInterval(this.poller);
    this.poller = setInterval(() => this.poll().catch(() => {}), POLL_MS);
  }

  async poll() {
    for (const [id, entry] of this.subs) {
      if (!entry.pc) continue;
      let level = 0;
      (await entry.pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") level = s.audioLevel || 0;
      });
      if (this.subs.get(id) === entry) this.level(id, level);
    }
    const me = this.session.sessionId;
    if (this.publisher && !this.muted) {
      let level = 0;
      (await this.publisher.pc.getStats()).forEach((s) => {
        if (s.type === "media-source" && s.kind === "audio") level = s.audioLevel || 0;
      });
      this.level(me, level);
    } else {
      this.level(me, 0);
    }
  }

  level(sessionId, level) {
    const s = this.speaking.get(sessionId) || { speaking: false, quiet: 0 };
    if (level > SPEAKING_LEVEL) {
      s.quiet = 0;
      this.speaking.set(sessionId, s);
      if (!s.speaking) {
        s.speaking = true;
        for (const fn of this.speakingFns) fn(sessionId, true);
      }
    } else if (s.speaking) {
      s.quiet += 1;
      if (s.quiet >= HOLD) this.setSpeaking(sessionId, false);
    }
  }

  // Only ever called to stop: a member who left or went quiet.
  setSpeaking(sessionId, speaking) {
    const was = this.speaking.get(sessionId);
    this.speaking.delete(sessionId);
    if (!speaking && was && was.speaking) for (const fn of this.speakingFns) fn(sessionId, false);
  }

  /** Whether `sessionId` is speaking now (as last measured). */
  isSpeaking(sessionId) {
    const s = this.speaking.get(sessionId);
    return Boolean(s && s.speaking);
  }

  async setMuted(muted, byServer = false) {
    if (!muted && this.byServer && this.session) {
      // A moderator's mute holds on the server until we lift it ourselves.
      const failed = await this.session.request(() => this.session.transport.unmute(this.session.sid));
      if (failed) return;
    }
    this.byServer = muted && (byServer || this.byServer);
    this.muted = muted;
    if (this.stream) for (const t of this.stream.getAudioTracks()) t.enabled = !muted;
    this.changed();
  }

  getMediaStream(sessionId, kind = "audio") {
    if (kind !== "audio") return Promise.reject(new Error("this client takes audio only"));
    const entry = this.subs.get(sessionId);
    if (entry && entry.stream) return Promise.resolve(entry.stream);
    if (entry) return new Promise((resolve) => entry.waiting.push(resolve));
    return Promise.reject(new Error(`${sessionId} sends no audio`));
  }

  // Close our peer connections (the server's handles end with the
  // connection, or with the SFU's leave).
  teardown() {
    clearInterval(this.poller);
    this.poller = null;
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
    if (this.publisher) this.publisher.pc.close();
    this.publisher = null;
    this.publishing = false;
    for (const id of [...this.subs.keys()]) this.unsubscribeFrom(id);
  }

  dropMicrophone() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }

  stop() {
    this.generation += 1;
    this.started = false;
    if (this.session) {
      this.session.removeEventListener("snapshot", this.onSnapshot);
      const { transport, sid } = this.session;
      if (transport.connected) transport.sfu("leave", { hub_sid: sid }).catch(() => {});
    }
    this.teardown();
    this.dropMicrophone();
  }
}
