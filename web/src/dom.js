// A small element builder: h("button", {class: "x", onclick}, "text", child).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The display name kept between visits (this browser only). */
export const savedName = {
  get() {
    return localStorage.getItem("hubsd.displayName") || "";
  },
  set(name) {
    localStorage.setItem("hubsd.displayName", name);
  },
};

/** Creator tokens of the rooms this browser created: they make it the owner again. */
export const creatorTokens = {
  get(sid) {
    return localStorage.getItem(`hubsd.creator.${sid}`) || undefined;
  },
  set(sid, token) {
    localStorage.setItem(`hubsd.creator.${sid}`, token);
  },
};

/**
 * The promotion tokens of this browser's uploads, by the networkId of the
 * object that shows each ({fileId, promotionToken}). Kept in localStorage so
 * that the one who shared an image can still pin it for good after a reload
 * or on a later visit; a token lets its holder keep that one upload, nothing
 * else.
 */
export const uploadTokens = {
  get(networkId) {
    try {
      const saved = JSON.parse(localStorage.getItem(`hubsd.upload.${networkId}`) || "null");
      return saved && typeof saved.promotionToken === "string" ? saved : undefined;
    } catch {
      return undefined;
    }
  },
  set(networkId, { fileId, promotionToken }) {
    if (!promotionToken) return;
    localStorage.setItem(`hubsd.upload.${networkId}`, JSON.stringify({ fileId, promotionToken }));
  },
};

/** The path of a room's page. */
export function roomPath(room) {
  return `/${encodeURIComponent(room.hub_sid)}/${encodeURIComponent(room.slug || "room")}`;
}

/**
 * The session token of this tab's visit to each room (sessionStorage: one
 * identity per tab, so two windows are two people). Coming back to a room
 * in the same tab, after a reload or from the lobby, is coming back as the
 * same member: within the reconnect grace the seat is kept, and a kick
 * still applies.
 */
export const visitTokens = {
  get(sid) {
    return sessionStorage.getItem(`hubsd.session.${sid}`) || undefined;
  },
  set(sid, token) {
    sessionStorage.setItem(`hubsd.session.${sid}`, token);
  },
};
