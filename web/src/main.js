// The hubsd web client: the lobby at "/", a room at "/<sid>/<slug>".
import "./room/aframe.js";
import { h, creatorTokens, roomPath, savedName } from "./dom.js";
import { ensureConnected, showLobby } from "./lobby/page.js";
import { showRoom } from "./room/page.js";
import { RoomError } from "./transport/errors.js";
import { makeTransport, transportName } from "./transport/index.js";

const root = document.getElementById("app");

/** The room sid in this page's path, if it is a room page. */
function sidFromPath(pathname) {
  const parts = pathname.split("/").filter(Boolean);
  return parts.length >= 1 && parts.length <= 2 ? decodeURIComponent(parts[0]) : null;
}

async function enter(transport, room, visit) {
  if (window.location.pathname !== roomPath(room)) {
    window.history.pushState({}, "", roomPath(room) + window.location.search);
  }
  root.replaceChildren(h("p", { class: "boot" }, `Entering ${room.name}…`));
  try {
    await showRoom(root, transport, room.hub_sid, visit);
  } catch (err) {
    const error = err instanceof RoomError ? err : new RoomError("connection_lost", String(err));
    transport.close();
    root.replaceChildren(
      h("main", { class: "lobby" },
        h("section", { class: "card" },
          h("h2", {}, `Could not enter ${room.name}`),
          h("p", { id: "enter-error", class: "error", role: "alert" }, error.message),
          h("a", { href: "/", class: "button" }, "Back to the lobby"))),
    );
  }
}

// A link to a room: ask for a name (kept from last time), then enter.
function roomDoor(transport, sid) {
  const invite = new URLSearchParams(window.location.search).get("invite") || undefined;
  const error = h("p", { id: "enter-error", class: "error", role: "alert", hidden: true });
  const name = h("input", { id: "display-name", maxlength: 64, required: true, value: savedName.get(), placeholder: "Your name" });
  const title = h("h2", {}, "Enter the room");
  const go = async (event) => {
    event.preventDefault();
    const displayName = name.value.trim();
    if (!displayName) return;
    savedName.set(displayName);
    try {
      await ensureConnected(transport);
      const room = await transport.describe(sid);
      await enter(transport, room, { profile: { displayName }, invite, creatorToken: creatorTokens.get(sid) });
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  };
  root.replaceChildren(
    h("main", { class: "lobby" },
      h("section", { class: "card" }, title,
        h("form", { id: "enter-form", onsubmit: go },
          h("label", { for: "display-name" }, "Your name"), name,
          h("button", { type: "submit", id: "enter-room" }, "Enter")),
        error,
        h("p", {}, h("a", { href: "/" }, "All public rooms")))),
  );
  ensureConnected(transport)
    .then(() => transport.describe(sid))
    .then((room) => { title.textContent = `Enter ${room.name}`; })
    .catch((err) => { error.textContent = err.message; error.hidden = false; });
}

function main() {
  if (transportName() === null) {
    root.replaceChildren(
      h("main", { class: "lobby" },
        h("section", { class: "card" },
          h("p", { id: "lobby-error", class: "error", role: "alert" },
            "Unknown transport in the address: use ?transport=wamp (the default) or ?transport=phoenix."))),
    );
    return;
  }
  const transport = makeTransport();
  const sid = sidFromPath(window.location.pathname);
  if (sid) roomDoor(transport, sid);
  else showLobby(root, transport, (room, visit) => enter(transport, room, visit));
  window.addEventListener("popstate", () => window.location.reload());
}

main();
