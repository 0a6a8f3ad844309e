// The lobby: public rooms, a form to create one, and the name to enter with.
import { h, creatorTokens, roomPath, savedName } from "../dom.js";
import { RoomError } from "../transport/errors.js";

/**
 * Show the lobby in `root`. `enter(room, visit)` is called when the person
 * picks a room (visit: {profile, creatorToken?}).
 */
export function showLobby(root, transport, enter) {
  const error = h("p", { id: "lobby-error", class: "error", role: "alert", hidden: true });
  const nameInput = h("input", {
    id: "display-name", maxlength: 64, required: true, autocomplete: "nickname",
    placeholder: "Your name", value: savedName.get(),
  });
  const list = h("ul", { id: "room-list", class: "room-list" });
  const roomName = h("input", { id: "room-name", maxlength: 64, required: true, placeholder: "Room name" });
  const entryMode = h(
    "select", { id: "entry-mode" },
    h("option", { value: "allow" }, "Anyone with the link may enter"),
    h("option", { value: "invite" }, "Only people with an invite"),
  );
  const listed = h("input", { id: "room-public", type: "checkbox", checked: true });
  const seats = h("input", { id: "room-size", type: "number", min: 1, max: 999, value: 24, required: true });

  function fail(err) {
    error.textContent = err instanceof RoomError ? err.message : String(err);
    error.hidden = false;
  }

  function profile() {
    const name = nameInput.value.trim();
    if (!name) {
      nameInput.focus();
      throw new RoomError("invalid_name", "Choose a name first: the others see it above your head.");
    }
    savedName.set(name);
    return { displayName: name };
  }

  async function refresh() {
    error.hidden = true;
    list.replaceChildren(h("li", { class: "muted" }, "Loading…"));
    try {
      await ensureConnected(transport);
      const rooms = await transport.listPublic();
      list.replaceChildren(
        ...(rooms.length ? rooms.map(roomItem) : [h("li", { class: "muted" }, "No public rooms yet: create one.")]),
      );
    } catch (err) {
      list.replaceChildren();
      fail(err);
    }
  }

  function roomItem(room) {
    const full = room.member_count >= room.room_size;
    return h(
      "li", { class: "room-item", "data-sid": room.hub_sid },
      h("a", { href: roomPath(room) + window.location.search, class: "room-name" }, room.name),
      h("span", { class: "count" }, `${room.member_count} / ${room.room_size}`, full ? " (full)" : ""),
      h("button", {
        class: "join", type: "button",
        onclick: () => {
          try {
            enter(room, { profile: profile(), creatorToken: creatorTokens.get(room.hub_sid) });
          } catch (err) {
            fail(err);
          }
        },
      }, "Join"),
    );
  }

  async function create(event) {
    event.preventDefault();
    error.hidden = true;
    try {
      const who = profile();
      await ensureConnected(transport);
      const made = await transport.create({
        name: roomName.value.trim(),
        entry_mode: entryMode.value,
        public: listed.checked,
        room_size: Number(seats.value),
      });
      creatorTokens.set(made.hub_sid, made.creator_token);
      const room = await transport.describe(made.hub_sid);
      enter(room, { profile: who, creatorToken: made.creator_token });
    } catch (err) {
      fail(err);
    }
  }

  root.replaceChildren(
    h(
      "main", { class: "lobby" },
      h("header", {}, h("h1", {}, "hubsd"), h("p", { class: "muted" }, "Shared rooms in the browser. Pick a room or make one.")),
      h("section", { class: "card" }, h("label", { for: "display-name" }, "Your name"), nameInput),
      h(
        "section", { class: "card" }, h("h2", {}, "New room"),
        h(
          "form", { id: "create-form", onsubmit: create },
          roomName, entryMode,
          h("label", { class: "seats" }, "Seats ", seats),
          h("label", { class: "check" }, listed, " Listed in the lobby"),
          h("button", { type: "submit", id: "create-room" }, "Create and enter"),
        ),
      ),
      h(
        "section", { class: "card" },
        h("h2", {}, "Public rooms ", h("button", { type: "button", id: "refresh-rooms", class: "small", onclick: refresh }, "Refresh")),
        list,
      ),
      error,
    ),
  );
  refresh();
}

/** Open the lobby's connection if it is not open. */
export async function ensureConnected(transport) {
  if (!transport.connected) await transport.connect({});
}
