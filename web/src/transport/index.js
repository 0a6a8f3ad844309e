// Which transport the page uses: WAMP over /ws (the default, which every
// hubsd serves), or the Phoenix gateway when the page's URL says
// `?transport=phoenix` (docs/web-client.md, "Two transports").
import { PhoenixTransport, phoenixUrl } from "./phoenix.js";
import { WampTransport } from "./wamp.js";

/** The WAMP websocket URL of the server that served this page. */
export function wampUrl(location = window.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

/** The room API's WAMP realm, as the server wrote it into the page. */
export function wampRealm(doc = document) {
  const meta = doc.querySelector('meta[name="hubsd-realm"]');
  return (meta && meta.getAttribute("content")) || "hubsd";
}

/** The transport the page's URL asks for: "wamp" (default) or "phoenix"; null for an unknown name. */
export function transportName(location = window.location) {
  const name = new URLSearchParams(location.search).get("transport") || "wamp";
  return name === "wamp" || name === "phoenix" ? name : null;
}

/** A new, unconnected room transport for this page's server. */
export function makeTransport(location = window.location) {
  if (transportName(location) === "phoenix") return new PhoenixTransport({ url: phoenixUrl(location) });
  return new WampTransport({ url: wampUrl(location), realm: wampRealm() });
}
