// Errors of the room API as values: a stable code (the server's error URI, or
// "unreachable" / "closed" for the connection itself) and words for people.

/** A refusal or failure the person should read. */
export class RoomError extends Error {
  /**
   * @param {string} code the server's error URI (hubsd.error.room_full, ...),
   *   or "unreachable" (no connection could be opened) / "connection_lost".
   * @param {string} detail the server's own message, if any
   */
  constructor(code, detail = "") {
    super(describe(code, detail));
    this.code = code;
    this.detail = detail;
  }
}

/** Words for a refused spawn of a "-media" object, and for a refused move of one. */
export const SPAWN_DENIED = "You are not allowed to place objects in this room (it needs the spawn_and_move_media permission).";
export const MOVE_DENIED = "You are not allowed to move objects in this room (it needs the spawn_and_move_media permission).";

// One sentence per error the room API documents (docs/wamp-api.md, Errors);
// the server's message follows where it says more than the sentence.
const WORDS = {
  "hubsd.error.no_such_room": "This room does not exist.",
  "hubsd.error.room_closed": "This room is closed.",
  "hubsd.error.room_full": "The room is full.",
  "hubsd.error.join_denied": "You may not enter this room.",
  "hubsd.error.not_joined": "You are not in this room any more.",
  "hubsd.error.not_permitted": "You are not allowed to do that.",
  "hubsd.error.no_such_member": "That person is no longer in the room.",
  "hubsd.error.invalid_payload": "The server refused the request as malformed.",
  "hubsd.error.invalid_token": "Your session was refused; enter the room again.",
  "hubsd.error.rate_limited": "You are sending too fast; wait a moment.",
  "hubsd.error.dropped": "The room refused that.",
  "hubsd.error.not_supported": "The server does not offer that over this connection.",
  "wamp.error.not_authorized": "The server did not authorize that.",
  "wamp.error.authentication_failed": "The server refused your session.",
  "wamp.error.no_such_procedure": "The server does not offer that (is it a hubsd server?).",
  "wamp.error.no_such_realm": "The server has no room realm (check its [wamp] realms).",
  "hubsd.sfu.error.not_joined": "You are not in this room's voice chat.",
  "hubsd.sfu.error.invalid_token": "The voice server refused your pass; reload the page.",
  "hubsd.sfu.error.not_permitted": "You are not allowed to speak in this room.",
  "hubsd.sfu.error.room_full": "Too many people are speaking in this room already.",
  "hubsd.sfu.error.no_such_publisher": "That person is not speaking.",
  "hubsd.sfu.error.too_many_handles": "You listen to too many people at once.",
  "hubsd.sfu.error.media_unavailable": "Voice is not available on this server.",
  "hubsd.sfu.error.unsupported_codec": "This browser cannot speak the codecs the server forwards (Opus).",
  "hubsd.sfu.error.bad_sdp": "The voice server refused this browser's offer.",
  "hubsd.sfu.error.bad_request": "The voice server refused the request.",
  "hubsd.sfu.error.no_such_handle": "That voice connection is gone.",
  voice_unavailable: "Voice is not available over this connection.",
  unreachable: "The server cannot be reached.",
  connection_lost: "The connection to the server was lost.",
  left: "You are not in a room.",
};

/** Words for an error code and the server's message. */
export function describe(code, detail = "") {
  if (code === "hubsd.error.dropped" && /\bdenied\b/.test(detail)) return SPAWN_DENIED;
  const words = WORDS[code];
  if (!words) return detail ? `${detail} (${code})` : `The server answered ${code}.`;
  return detail && detail !== words ? `${words} ${capital(detail)}` : words;
}

function capital(text) {
  const t = String(text).trim();
  const end = /[.!?]$/.test(t) ? "" : ".";
  return t.charAt(0).toUpperCase() + t.slice(1) + end;
}
