// The voice seam. Voice and camera go through hubsd's SFU, which is not
// part of this build: the room page asks a voice backend for what it needs,
// and today the only backend says that there is no voice.
//
// A voice backend (for the SFU: connect with the member's perms token,
// publish the microphone, subscribe to the others) has:
//   available: boolean            reason: string (why not, for people)
//   start(session) -> Promise     join the room's audio (session: RoomSession;
//                                 session.transport.permsToken(sid) for the SFU)
//   setMuted(muted: boolean)      the microphone on or off (also on `muted`
//                                 events from the server)
//   onSpeaking(fn(sessionId, speaking: boolean))
//   getMediaStream(sessionId, kind) -> Promise<MediaStream>   (for NAF's
//                                 networked-audio-source)
//   stop()

/** The backend used while the server offers no voice. */
export const noVoice = {
  available: false,
  reason: "Voice is not available on this server yet.",
  start() {
    return Promise.resolve();
  },
  setMuted() {},
  onSpeaking() {},
  getMediaStream() {
    return Promise.reject(new Error("no voice on this server"));
  },
  stop() {},
};
