// The lobby's room operations over hubsd's HTTP API (docs/http-api.md,
// "Rooms"): what a Hubs client does, since the Phoenix gateway has no list
// or create. Answers are the room core's Hub objects, the shape the WAMP
// API's list_public and describe give; refusals become RoomErrors with the
// room error URI whose tail the HTTP error code is.
import { RoomError } from "./errors.js";

async function request(fetcher, method, path, body) {
  let answer;
  try {
    answer = await fetcher(path, {
      method,
      cache: "no-store",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new RoomError("unreachable");
  }
  let data = null;
  try {
    data = await answer.json();
  } catch (err) {
    // not JSON (a proxy's error page): the status says enough
  }
  if (answer.ok && data) return data;
  // {"error": {code, message}}, or the one Hubs-shaped {"error": "invalid_token", message}.
  const error = data && data.error;
  const code = typeof error === "string" ? error : error && error.code;
  const message = (error && error.message) || (data && data.message) || "";
  throw new RoomError(code ? `hubsd.error.${code}` : `http.${answer.status}`, message);
}

/** The lobby's calls: listPublic, create, describe (transport/contract.js). */
export class HubsApi {
  constructor(fetcher = (...args) => globalThis.fetch(...args)) {
    this.fetcher = fetcher;
  }

  async listPublic() {
    return (await request(this.fetcher, "GET", "/api/v1/hubs?public")).hubs;
  }

  async create(fields) {
    const made = await request(this.fetcher, "POST", "/api/v1/hubs", { hub: fields });
    return { hub_sid: made.hub_id, slug: made.hub.slug, creator_token: made.creator_assignment_token };
  }

  async describe(sid) {
    return (await request(this.fetcher, "GET", `/api/v1/hubs/${encodeURIComponent(sid)}`)).hubs[0];
  }
}
