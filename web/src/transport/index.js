// Which transport the page uses. Today: WAMP over /ws, which every hubsd
// serves. A Phoenix-gateway transport (same contract, transport/contract.js)
// is chosen here by name when it exists.
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

/** A new, unconnected room transport for this page's server. */
export function makeTransport() {
  return new WampTransport({ url: wampUrl(), realm: wampRealm() });
}
