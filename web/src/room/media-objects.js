// Media objects in the scene: spawning one (template MEDIA_TEMPLATE, whose
// picture media-image.js draws), the tools on the selected one, taking one
// to carry it in front of the camera (NAF ownership, which the server
// arbitrates), pinning and unpinning (hubsd.room.pin / unpin, and the
// room's `.pins` events), and a pinned object's return from the enter
// snapshot.
/* global THREE, NAF */
import { h, uploadTokens } from "../dom.js";
import { MOVE_DENIED } from "../transport/errors.js";
import { MEDIA_TEMPLATE, PIN_NEEDS_UPLOADER, fromPin, pinNeedsPromotion, pinNode } from "./media.js";
import "./media-image.js";

/** A place 1.5 m in front of `camera` at its height, facing it: {position, rotation} in A-Frame units. */
export function inFrontOf(camera) {
  const at = new THREE.Vector3();
  const turn = new THREE.Quaternion();
  camera.getWorldPosition(at);
  camera.getWorldQuaternion(turn);
  const yaw = new THREE.Euler().setFromQuaternion(turn, "YXZ").y;
  const ahead = new THREE.Vector3(0, 0, -1.5).applyAxisAngle(THREE.Object3D.DEFAULT_UP, yaw).add(at);
  return { position: ahead, rotation: { x: 0, y: THREE.MathUtils.radToDeg(yaw), z: 0 } };
}

/** A networked media entity in `scene` showing `image` ({src, link, title}); `pinned`: brought back from a pin, held by nobody. */
export function mediaEntity(scene, { networkId, position, rotation, image, pinned = false }) {
  const el = document.createElement("a-entity");
  const networked = { template: MEDIA_TEMPLATE, networkId, attachTemplateToLocal: false };
  if (pinned) {
    // Restored from a pin: nobody holds it until someone takes it (NAF's
    // takeOwnership, arbitrated by the server); the live state, if the room
    // has it, comes from the snapshot NAF kept aside for persistent entities.
    Object.assign(networked, { persistent: true, owner: "scene", creator: "scene" });
  }
  el.setAttribute("networked", networked);
  el.setAttribute("position", position);
  el.setAttribute("rotation", rotation);
  el.setAttribute("media-image", image);
  scene.append(el);
  return el;
}

const byId = (id) => (NAF.entities.hasEntity(id) ? NAF.entities.getEntity(id) : null);

/**
 * The media objects of one room page: spawning, carrying, pinning, and the
 * tools shown on the selected object (`tools.root`, for the page to place).
 * `notice(text, kind)` shows words.
 */
export class MediaObjects {
  constructor({ scene, session, transport, notice }) {
    this.scene = scene;
    this.session = session;
    this.transport = transport;
    this.notice = notice;
    const button = (id, action, text) =>
      h("button", { id, type: "button", class: "small", onclick: () => this.act(action) }, text);
    const tools = {
      grab: button("media-grab", "grab", "Grab"),
      pin: button("media-pin", "pin", "Pin"),
      remove: button("media-remove", "remove", "Remove"),
    };
    tools.root = h("div", { id: "object-tools", class: "object-tools", hidden: true, role: "toolbar", "aria-label": "The selected object" },
      tools.grab, tools.pin, tools.remove, button("media-close", "close", "×"));
    this.tools = tools;
    // The promotion tokens of this page's own uploads, by networkId (and
    // this browser's earlier ones in uploadTokens): whoever holds one can
    // keep that file for good.
    this.uploads = new Map();
    this.pinned = new Set();
    this.selected = null;
    this.carrying = null;
    scene.addEventListener("media-select", (e) => this.select(e.detail.el));
  }

  /** Show `image` in front of the camera, networked; its networkId. */
  spawn(image, upload = null) {
    const networkId = NAF.utils.createNetworkId();
    if (upload) {
      this.uploads.set(networkId, upload);
      uploadTokens.set(networkId, upload);
    }
    const place = inFrontOf(this.scene.camera);
    mediaEntity(this.scene, { networkId, ...place, image });
    return networkId;
  }

  // -- pins -------------------------------------------------------------------

  /** The enter snapshot's pins: mark them, and bring back those the page does not have. */
  restore(pins) {
    this.pinned = new Set(pins.map((p) => p.object_id));
    for (const pin of pins) {
      const object = fromPin(pin);
      if (!object || byId(object.networkId)) continue;
      const q = new THREE.Quaternion().fromArray(object.quaternion);
      const euler = new THREE.Euler().setFromQuaternion(q, "YXZ");
      const deg = THREE.MathUtils.radToDeg;
      const el = mediaEntity(this.scene, {
        networkId: object.networkId,
        position: { x: object.position[0], y: object.position[1], z: object.position[2] },
        rotation: { x: deg(euler.x), y: deg(euler.y), z: deg(euler.z) },
        image: object.image,
        pinned: true,
      });
      const live = () => el.components.networked && el.components.networked.applyPersistentFirstSync();
      if (el.hasLoaded) live();
      else el.addEventListener("loaded", () => setTimeout(live, 0), { once: true });
    }
    this.refreshTools();
  }

  /** A `.pins` event: a pinned object is kept by the room; an unpinned one leaves every page. */
  pinsChanged({ pinned, unpinned }) {
    if (pinned) {
      this.pinned.add(pinned.object_id);
      const el = byId(pinned.object_id);
      const networked = el && el.components.networked;
      if (networked) {
        // Persistent: it outlives its creator's visit, in the server's
        // table and on every page; its holder tells the server so.
        el.setAttribute("networked", { persistent: true });
        if (networked.isMine()) networked.syncAll();
      }
    }
    if (unpinned) {
      this.pinned.delete(unpinned.object_id);
      if (byId(unpinned.object_id)) {
        if (this.selected && this.selected.id === byId(unpinned.object_id).id) this.select(null);
        NAF.entities.removeEntity(unpinned.object_id);
      }
    }
    this.refreshTools();
  }

  async pin(el) {
    const networked = el.components.networked;
    const id = networked.data.networkId;
    const image = el.getAttribute("media-image");
    const object = el.object3D;
    const gltf = pinNode(id, object.position.toArray(), object.quaternion.toArray(), image);
    const upload = this.uploads.get(id) || uploadTokens.get(id);
    const again = this.pinned.has(id);
    if (pinNeedsPromotion(image, again, upload)) {
      this.notice(PIN_NEEDS_UPLOADER);
      return;
    }
    const args = { object_id: id, gltf };
    if (upload && upload.fileId) {
      args.file_id = upload.fileId;
      if (upload.promotionToken) args.promotion_token = upload.promotionToken;
    }
    const failed = await this.session.request(() => this.transport.pin(this.session.sid, args));
    if (!failed && !again) this.notice("Pinned: it stays in this room.", "info");
  }

  async unpin(el) {
    const networked = el.components.networked;
    const id = networked.data.networkId;
    const failed = await this.session.request(() => this.transport.unpin(this.session.sid, id));
    if (failed) return;
    // The server's copy goes too, whoever holds it (a refusal changes nothing).
    if (!networked.isMine()) NAF.connection.broadcastDataGuaranteed("r", { networkId: id });
  }

  // -- carrying -----------------------------------------------------------------

  grab(el) {
    const networked = el.components.networked;
    if (!networked.isMine()) {
      const before = {
        owner: networked.data.owner,
        time: networked.lastOwnerTime,
        position: el.object3D.position.clone(),
        rotation: el.object3D.rotation.clone(),
      };
      if (!networked.takeOwnership()) {
        this.notice("Someone else has just taken it; try again in a moment.");
        return;
      }
      this.taken = { el, before };
    }
    this.carrying = el;
    el.setAttribute("carried", "");
    this.refreshTools();
  }

  async putDown(el) {
    el.removeAttribute("carried");
    this.carrying = null;
    this.taken = null;
    this.refreshTools();
    const id = el.components.networked.data.networkId;
    // A pinned object is pinned where it was put down.
    if (this.pinned.has(id) && this.session.permissions.pin_objects) await this.pin(el);
  }

  /**
   * A refused guaranteed NAF message about a media object; true if it was
   * ours to answer. A refused take puts the object back as it was, with
   * the owner it still has.
   */
  refused(err, dataType, data) {
    const taken = this.taken;
    if (dataType !== "u" || !taken || !data || data.isFirstSync) return false;
    const networked = taken.el.components.networked;
    if (!networked || data.networkId !== networked.data.networkId) return false;
    taken.el.removeAttribute("carried");
    networked.lastOwnerTime = taken.before.time;
    taken.el.setAttribute("networked", { owner: taken.before.owner });
    taken.el.object3D.position.copy(taken.before.position);
    taken.el.object3D.rotation.copy(taken.before.rotation);
    this.carrying = null;
    this.taken = null;
    this.refreshTools();
    const denied = err.code === "hubsd.error.dropped" && /\bdenied\b/.test(err.detail || "");
    this.notice(denied ? MOVE_DENIED : err.message);
    return true;
  }

  // -- the tools on the selected object -----------------------------------------

  select(el) {
    this.selected = el;
    this.refreshTools();
    if (el && !this.following) {
      this.following = true;
      const follow = () => {
        if (!this.selected || !this.selected.parentNode) {
          this.following = false;
          if (this.selected) this.select(null);
          return;
        }
        this.place();
        requestAnimationFrame(follow);
      };
      requestAnimationFrame(follow);
    }
  }

  // The tools stand just above the object as the camera sees it.
  place() {
    const camera = this.scene.camera;
    const canvas = this.scene.canvas;
    if (!camera || !canvas) return;
    const at = new THREE.Vector3();
    this.selected.object3D.getWorldPosition(at);
    at.y += ((this.selected.components["media-image"] && this.selected.components["media-image"].size) || { height: 1 }).height / 2;
    at.project(camera);
    const box = canvas.getBoundingClientRect();
    const behind = at.z > 1;
    this.tools.root.hidden = behind;
    this.tools.root.style.left = `${Math.round(box.left + ((at.x + 1) / 2) * box.width)}px`;
    this.tools.root.style.top = `${Math.round(box.top + ((1 - at.y) / 2) * box.height)}px`;
  }

  refreshTools() {
    const el = this.selected;
    const { root, grab, pin, remove } = this.tools;
    if (!el || !el.components.networked) {
      root.hidden = true;
      return;
    }
    const networked = el.components.networked;
    const id = networked.data.networkId;
    const isPinned = this.pinned.has(id);
    root.hidden = false;
    root.dataset.networkId = id;
    grab.textContent = this.carrying === el ? "Put down" : "Grab";
    pin.hidden = !this.session.permissions.pin_objects;
    pin.textContent = isPinned ? "Unpin" : "Pin";
    remove.hidden = isPinned || !networked.isMine();
  }

  /** What the tools' buttons do (wired by the page). */
  act(action) {
    const el = this.selected;
    if (!el || !el.components.networked) return;
    if (action === "grab") {
      if (this.carrying === el) this.putDown(el);
      else this.grab(el);
    } else if (action === "pin") {
      if (this.pinned.has(el.components.networked.data.networkId)) this.unpin(el);
      else this.pin(el);
    } else if (action === "remove") {
      this.select(null);
      el.remove();
    } else if (action === "close") {
      this.select(null);
    }
  }
}
