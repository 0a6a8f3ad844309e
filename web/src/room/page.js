// The room page: the 3D scene, the people in the room, chat, and what the
// connection is doing. Everything the server refuses is shown in words.
/* global NAF */
import { h, visitTokens } from "../dom.js";
import { AVATAR_TEMPLATE, BOX_TEMPLATE, registerSchemas, registerTemplates } from "./components.js";
import { HttpMedia, mayTake } from "./media.js";
import { useResolver } from "./media-image.js";
import { MediaObjects } from "./media-objects.js";
import { MediaSharing } from "./media-share.js";
import { HubsdAdapter, useSession } from "./naf-adapter.js";
import { RoomSession } from "./session.js";
import { SfuVoice } from "./voice.js";

let registered = false;
// The session whose permissions NAF's own takes are checked against.
let taking = null;

function colorFor(id) {
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360}, 65%, 62%)`;
}

/** Join room `sid` and show it in `root`; resolves when the page is up or rejects with a RoomError. */
export async function showRoom(root, transport, sid, visit, options = {}) {
  const voice = options.voice || new SfuVoice();
  const media = options.media || new HttpMedia();
  const session = new RoomSession(transport, sid, visit);
  await session.clockFromServer();
  await session.start(visitTokens.get(sid));
  visitTokens.set(sid, session.token);
  session.addEventListener("snapshot", () => visitTokens.set(sid, session.token));

  const status = h("div", { id: "status", class: "status", role: "status", hidden: true });
  const notices = h("div", { id: "notices", class: "notices", "aria-live": "polite" });
  const people = h("ul", { id: "people", class: "people" });
  const peopleCount = h("span", { class: "count" });
  const messages = h("ol", { id: "chat-messages", class: "messages" });
  const chatInput = h("input", { id: "chat-input", maxlength: 4096, placeholder: "Say something…", autocomplete: "off" });
  const overlayText = h("p", { id: "overlay-text" });
  const overlay = h("div", { id: "overlay", class: "overlay", hidden: true },
    h("div", { class: "card" }, overlayText, h("a", { href: "/", class: "button" }, "Back to the lobby")));
  const blocked = new Set();
  const speaking = new Set();
  const voiceState = h("span", { class: "muted", id: "voice-state" });
  const muteButton = h("button", {
    id: "mute", type: "button", hidden: true, "aria-pressed": "false",
    onclick: () => voice.setMuted(!voice.muted),
  }, "Mute");

  function showVoice() {
    voiceState.textContent = voice.available ? voice.reason : voice.reason || "No voice in this room.";
    muteButton.hidden = !(voice.available && voice.publishing);
    muteButton.textContent = voice.muted ? "Unmute" : "Mute";
    muteButton.setAttribute("aria-pressed", String(voice.muted));
    muteButton.title = voice.muted ? "Your microphone is off" : "Your microphone is on";
  }

  function notice(text, kind = "error") {
    const item = h("div", { class: `notice ${kind}` }, text);
    notices.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 5000);
  }

  function renderPeople() {
    const me = session.sessionId;
    const mine = session.permissions;
    const iAmOwner = Boolean(session.roles.owner);
    const members = session.presence.members().filter(([, meta]) => meta && meta.presence === "room");
    peopleCount.textContent = `(${members.length})`;
    people.replaceChildren(...members.map(([id, meta]) => {
      const roles = meta.roles || {};
      const protectedOwner = roles.owner && !iAmOwner;
      const buttons = [];
      if (id !== me) {
        if (mine.mute_users && !protectedOwner) {
          buttons.push(h("button", { class: "small", "data-action": "mute", onclick: () => session.moderate("mute", id) }, "Mute"));
        }
        if (mine.kick_users && !protectedOwner) {
          buttons.push(h("button", { class: "small danger", "data-action": "kick", onclick: () => session.moderate("kick", id) }, "Kick"));
        }
        const isBlocked = blocked.has(id);
        buttons.push(h("button", {
          class: "small", "data-action": isBlocked ? "unblock" : "block",
          onclick: async () => {
            const failed = await session.moderate(isBlocked ? "unblock" : "block", id);
            if (!failed) {
              if (isBlocked) blocked.delete(id);
              else blocked.add(id);
              renderPeople();
            }
          },
        }, isBlocked ? "Unblock" : "Block"));
      }
      const badges = [roles.owner ? "owner" : roles.moderator ? "moderator" : null].filter(Boolean);
      return h("li", { "data-session-id": id, class: speaking.has(id) ? "speaking" : "" },
        h("span", { class: "swatch", style: `background:${colorFor(id)}` }),
        h("span", { class: "speaker", title: "speaking", "aria-label": "speaking" }),
        h("span", { class: "who" }, meta.profile?.displayName || "someone", id === me ? " (you)" : ""),
        ...badges.map((b) => h("span", { class: "badge" }, b)),
        h("span", { class: "actions" }, ...buttons));
    }));
  }

  function addChat({ type, body, session_id: from }) {
    const who = session.presence.name(from);
    const text = type === "chat" ? String(body) : `shared ${type}: ${body && body.src ? body.src : ""}`;
    messages.append(h("li", { class: from === session.sessionId ? "mine" : "" }, h("b", {}, who), " ", text));
    messages.scrollTop = messages.scrollHeight;
  }

  async function sendChat(event) {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    const failed = await session.sendChat(text);
    if (!failed) chatInput.value = "";
  }

  const scene = buildScene(session, visit);

  // Owner tools, shown to those the server gave the right to.
  const closeButton = h("button", {
    id: "close-room", type: "button", class: "danger", hidden: !session.permissions.close_hub,
    onclick: () => {
      if (window.confirm("Close this room for everyone?")) session.request(() => transport.closeRoom(sid));
    },
  }, "Close room");
  const inviteButton = h("button", {
    id: "invite", type: "button", hidden: !(session.permissions.update_hub && session.room?.entry_mode === "invite"),
    onclick: () => session.request(async () => {
      const { invite } = await transport.invite(sid);
      const link = `${window.location.origin}${window.location.pathname}?invite=${encodeURIComponent(invite)}`;
      notice(`Invite link: ${link}`, "info");
    }),
  }, "Invite link");
  session.addEventListener("presence", () => {
    closeButton.hidden = !session.permissions.close_hub;
    inviteButton.hidden = !(session.permissions.update_hub && session.room?.entry_mode === "invite");
  });

  function placeBox() {
    const camera = scene.querySelector("#me").object3D;
    const ahead = new window.THREE.Vector3(0, 0, -1.5).applyQuaternion(camera.quaternion).add(camera.position);
    const box = h("a-entity", {
      networked: `template: ${BOX_TEMPLATE}`,
      position: `${ahead.x.toFixed(2)} 0.25 ${ahead.z.toFixed(2)}`,
      material: `color: ${colorFor(String(Math.random()))}`,
    });
    scene.append(box);
  }

  // Media: images dropped, picked or pasted as links, and the tools on the
  // selected one (room/media.js, media-objects.js, media-share.js).
  const objects = new MediaObjects({ scene, session, transport, notice });
  useResolver(media);
  const sharing = new MediaSharing({ session, media, objects, notice });

  // A refused guaranteed NAF message: say why, and undo a refused spawn.
  function refused(err, dataType, data) {
    if (dataType === "r") return; // the entity is gone here either way
    if (objects.refused(err, dataType, data)) return;
    notice(err.message);
    const id = data && data.networkId;
    if (dataType === "u" && data.isFirstSync && id && NAF.entities.hasEntity(id)) {
      const el = NAF.entities.getEntity(id);
      if (el && el.components.networked?.data.template !== AVATAR_TEMPLATE) {
        NAF.entities.removeEntity(id);
      }
    }
  }

  session.addEventListener("presence", renderPeople);
  session.addEventListener("presence", () => objects.refreshTools());
  session.addEventListener("pins", (e) => objects.pinsChanged(e.detail));
  // After NAF has the snapshot's entities (the adapter hands them over on
  // the same event), bring back the pinned objects the room no longer holds.
  session.addEventListener("snapshot", (e) => setTimeout(() => objects.restore(e.detail.pinned || []), 0));
  document.body.addEventListener("connected", () => setTimeout(() => objects.restore((session.snapshot && session.snapshot.pinned) || []), 0), { once: true });
  session.addEventListener("chat", (e) => addChat(e.detail));
  session.addEventListener("notice", (e) => notice(e.detail.text, e.detail.kind));
  session.addEventListener("muted", () => voice.setMuted(true, true));
  voice.onState(showVoice);
  voice.onSpeaking((id, on) => {
    if (on) speaking.add(id);
    else speaking.delete(id);
    const item = people.querySelector(`li[data-session-id="${CSS.escape(id)}"]`);
    if (item) item.classList.toggle("speaking", on);
  });
  session.addEventListener("status", (e) => {
    const { state, text } = e.detail;
    status.textContent = text;
    status.className = `status ${state}`;
    status.hidden = !text || state === "left";
    if (state === "in-room" && text) setTimeout(() => { if (session.state === "in-room") status.hidden = true; }, 3000);
  });
  session.addEventListener("left", (e) => {
    overlayText.textContent = e.detail.text;
    overlay.hidden = false;
    voice.stop();
    scene.pause?.();
  });

  const title = (session.room && session.room.name) || "Room";
  document.title = `${title} · hubsd`;
  root.replaceChildren(
    h("div", { class: "room" },
      scene,
      h("header", { class: "bar" },
        h("h1", {}, title),
        voiceState,
        h("span", { class: "grow" }),
        muteButton,
        h("button", { id: "place-box", type: "button", onclick: placeBox, title: "Place a box in front of you" }, "Place a box"),
        ...sharing.controls,
        closeButton,
        inviteButton,
        h("button", { id: "leave", type: "button", onclick: () => session.leave() }, "Leave")),
      status,
      h("aside", { class: "side" },
        h("section", {}, h("h2", {}, "In the room ", peopleCount), people),
        h("section", { class: "chat" }, h("h2", {}, "Chat"), messages,
          h("form", { id: "chat-form", onsubmit: sendChat }, chatInput, h("button", { type: "submit", id: "chat-send" }, "Send")))),
      h("p", { class: "hint" }, "Move: W A S D · look: drag the mouse · drop or paste an image or a link to share it · click an image for its tools"),
      objects.tools.root,
      sharing.dropHint,
      notices,
      overlay),
  );
  sharing.attach(root.querySelector(".room"));
  session.addEventListener("left", () => sharing.detach());
  registerSchemas();
  if (!registered) {
    NAF.adapters.register("hubsd", HubsdAdapter);
    // NAF takes over the persistent objects of a member who leaves; only
    // those the server lets take them try (hubsd/rooms/permissions.py).
    const take = NAF.utils.takeOwnership;
    NAF.utils.takeOwnership = (el) => {
      const template = el && el.components && el.components.networked && el.components.networked.data.template;
      return taking && !mayTake(taking.permissions, template) ? false : take(el);
    };
    registered = true;
  }
  taking = session;
  useSession(session, voice, refused);
  // Connect NAF once the templates are known, so that the snapshot's
  // entities can be made at once.
  const connect = () => scene.emit("connect", null, false);
  if (scene.hasLoaded) connect();
  else scene.addEventListener("loaded", connect, { once: true });
  renderPeople();
  showVoice();
  // For tests and debugging: the page's voice (its peer connections).
  window.hubsdDebug = { ...(window.hubsdDebug || {}), voice, media: objects };
  if (voice.available) {
    voice.start(session).catch((err) => {
      voice.failed(err);
      notice(voice.reason);
    });
  }
  return session;
}

function buildScene(session, visit) {
  const x = (Math.random() * 4 - 2).toFixed(2);
  const z = (Math.random() * 3 + 1).toFixed(2);
  const scene = h("a-scene", {
    "vr-mode-ui": "enabled: false",
    "xr-mode-ui": "enabled: false",
    "loading-screen": "enabled: false",
    "device-orientation-permission-ui": "enabled: false",
    renderer: "antialias: true; colorManagement: true",
    // Clicks on media objects (their tools); dragging still turns the view.
    cursor: "rayOrigin: mouse; fuse: false",
    raycaster: "objects: .media-object; far: 30",
    "networked-scene": `adapter: hubsd; room: ${session.sid}; app: hubsd; audio: false; debug: false; connectOnLoad: false`,
  });
  const assets = h("a-assets");
  scene.append(assets);
  registerTemplates(assets);
  scene.insertAdjacentHTML(
    "beforeend",
    `<a-entity light="type: ambient; intensity: 0.7"></a-entity>
     <a-entity light="type: directional; intensity: 0.9" position="3 6 2"></a-entity>
     <a-sky color="#c9dcf5"></a-sky>
     <a-plane rotation="-90 0 0" width="30" height="30" material="color: #7d9b7f"></a-plane>
     <a-box position="-4 0.75 -4" width="1.5" height="1.5" depth="1.5" material="color: #d9a3c5"></a-box>
     <a-cylinder position="4 1 -5" radius="0.6" height="2" material="color: #8fb3d9"></a-cylinder>
     <a-torus position="0 2.2 -7" radius="1.2" radius-tubular="0.08" material="color: #f2d17a"></a-torus>`,
  );
  const me = h("a-entity", {
    id: "me",
    camera: "",
    "look-controls": "pointerLockEnabled: false",
    "wasd-controls": "enabled: false",
    "walk-keys": "",
    position: `${x} 1.6 ${z}`,
    networked: `template: ${AVATAR_TEMPLATE}; attachTemplateToLocal: false`,
    "avatar-look": `name: ${visit.profile.displayName.replace(/[;:]/g, " ")}; color: ${colorFor(session.sessionId)}`,
  });
  scene.append(me);
  return scene;
}
