// networked-aframe's network adapter for hubsd ("hubsd" in networked-scene).
//
// NAF thinks in peers and data channels; hubsd is a server that relays, checks
// and remembers every entity. So:
// - the client id is the member's room session id, and the "occupants" are
//   the other members present in the room (presence "room");
// - a data channel to an occupant is open as soon as it is there (the server
//   relays everything);
// - broadcastData / broadcastDataGuaranteed publish on the room's NAF topic,
//   the guaranteed ones acknowledged so that a refusal (a spawn the room's
//   permissions deny) comes back and is shown;
// - directed sends (NAF's full sync to a newcomer) are not sent: the server's
//   enter snapshot already gives a newcomer every entity's latest state;
// - server time is the page's clock corrected by the server's Date header,
//   as NAF's ownership rule (later lastOwnerTime wins) wants;
// - media streams come from the voice module (room/voice.js).
/* global NAF */

let current = null;

/** The room session (and voice) the next NAF connect uses. */
export function useSession(session, voice, onRefused) {
  current = { session, voice, onRefused };
}

export class HubsdAdapter {
  constructor() {
    // The members NAF has a "data channel" to: NAF asks getConnectStatus
    // whether a listed occupant is new, and opens one (startStreamConnection)
    // only then; a member who left and came back must be new again.
    this.open = new Set();
    this.listeners = {};
    this.unbind = [];
  }

  setServerUrl() {}
  setApp() {}
  setRoom() {}
  setWebRtcOptions() {}

  setServerConnectListeners(success, failure) {
    this.listeners.success = success;
    this.listeners.failure = failure;
  }

  setRoomOccupantListener(listener) {
    this.listeners.occupants = listener;
  }

  setDataChannelListeners(open, closed, message) {
    this.listeners.open = open;
    this.listeners.closed = closed;
    this.listeners.message = message;
  }

  connect() {
    if (!current) {
      this.listeners.failure("no_session", "the room session was not started");
      return;
    }
    const { session } = current;
    this.session = session;
    this.voice = current.voice;
    this.onRefused = current.onRefused;
    const on = (type, fn) => {
      session.addEventListener(type, fn);
      this.unbind.push(() => session.removeEventListener(type, fn));
    };
    on("naf", (e) => this.received(e.detail));
    on("presence", () => this.updateOccupants());
    on("snapshot", (e) => this.applySnapshot(e.detail.entities || [], true));
    this.listeners.success(session.sessionId);
    this.updateOccupants();
    this.applySnapshot((session.snapshot && session.snapshot.entities) || []);
  }

  received(msg) {
    const from = msg.from_session_id;
    if (!from || from === this.session.sessionId) return;
    this.listeners.message(from, msg.dataType, msg.data, "hubsd");
  }

  /**
   * Hand the enter snapshot to NAF. `again`: a snapshot after a reconnect
   * (at the first one, NAF announces our new entities itself).
   */
  applySnapshot(entities, again = false) {
    const me = this.session.sessionId;
    const known = new Set(entities.map((sync) => sync.networkId));
    // Ours that the server no longer has (the seat was lost after a long
    // drop, so the server let them go): announce them again as new.
    for (const [id, el] of again ? Object.entries(NAF.entities.entities) : []) {
      const networked = el && el.components && el.components.networked;
      if (networked && networked.data.owner === me && !known.has(id)) networked.syncAll(undefined, true);
    }
    for (const sync of entities) {
      // (A persistent one of ours is a pinned object we held: NAF keeps it
      // aside until the page brings the pin back, room/media-objects.js.)
      if (sync.owner === me && !sync.persistent) {
        // Ours from before a reload or a lost seat: if this page does not
        // have it, nobody will update it again, so take it away.
        if (!NAF.entities.hasEntity(sync.networkId)) {
          this.broadcastDataGuaranteed("r", { networkId: sync.networkId });
        }
        continue;
      }
      this.listeners.message(sync.owner, "u", sync, "hubsd");
    }
  }

  updateOccupants() {
    const next = {};
    for (const [id, meta] of this.session.presence.members()) {
      if (id !== this.session.sessionId && meta && meta.presence === "room") next[id] = true;
    }
    this.listeners.occupants(next);
  }

  shouldStartConnectionTo() {
    return true;
  }

  startStreamConnection(clientId) {
    this.open.add(clientId);
    this.listeners.open(clientId);
  }

  closeStreamConnection(clientId) {
    this.open.delete(clientId);
    this.listeners.closed(clientId);
  }

  getConnectStatus(clientId) {
    return this.open.has(clientId) ? NAF.adapters.IS_CONNECTED : NAF.adapters.NOT_CONNECTED;
  }

  getMediaStream(clientId, type = "audio") {
    return this.voice.getMediaStream(clientId, type);
  }

  getServerTime() {
    return this.session.serverTime();
  }

  sendData() {}

  sendDataGuaranteed() {}

  broadcastData(dataType, data) {
    this.session.sendNaf({ dataType, data }, false).catch(() => {});
  }

  broadcastDataGuaranteed(dataType, data) {
    this.session.sendNaf({ dataType, data }, true).catch((err) => {
      if (this.onRefused) this.onRefused(err, dataType, data);
    });
  }

  disconnect() {
    for (const unbind of this.unbind.splice(0)) unbind();
  }
}
