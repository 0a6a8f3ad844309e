// Media objects in the scene: an image (or a link's picture or title card)
// on a plane, networked with the template MEDIA_TEMPLATE; taking one to
// carry it in front of the camera (NAF ownership, which the server
// arbitrates); pinning and unpinning (hubsd.room.pin / unpin, and the room's
// `.pins` events); and a pinned object's return from the enter snapshot.
/* global AFRAME, THREE, NAF */
import { MOVE_DENIED } from "../transport/errors.js";
import { MEDIA_TEMPLATE, fromPin, linkView, pinNode, planeSize, serverPath } from "./media.js";

let resolver = null;

/** The media backend media-image uses to resolve a link again (its thumbnail expired). */
export function useResolver(backend) {
  resolver = backend;
}

function loadImage(path) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`could not load ${path}`));
    image.src = path;
  });
}

// A title card: a link's title and host on a canvas (no font from a CDN).
function drawCard(title, link) {
  const canvas = document.createElement("canvas");
  canvas.width = 512;
  canvas.height = 288;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#1f2433";
  ctx.fillRect(0, 0, 512, 288);
  ctx.fillStyle = "#7aa2ff";
  ctx.fillRect(0, 0, 512, 10);
  ctx.fillStyle = "#ffffff";
  ctx.font = "600 34px system-ui, sans-serif";
  const words = String(title).split(/\s+/);
  const lines = [];
  let line = "";
  for (const word of words) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width > 460 && line) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  lines.slice(0, 4).forEach((text, i) => ctx.fillText(text, 26, 70 + i * 44, 460));
  ctx.fillStyle = "#aab3c8";
  ctx.font = "24px system-ui, sans-serif";
  let host = link;
  try {
    host = new URL(link).host;
  } catch (e) {
    // not a URL: show it as it is
  }
  ctx.fillText(host, 26, 262, 460);
  return canvas;
}

// The image on a plane with the image's aspect ratio. `src`: a file or
// thumbnail URL of this server; `link`: the pasted address it stands for
// (resolved again if its thumbnail is gone); `title`: a web page's title.
AFRAME.registerComponent("media-image", {
  schema: { src: { default: "" }, link: { default: "" }, title: { default: "" } },

  init() {
    this.material = new THREE.MeshBasicMaterial({ color: "#d8dce6", side: THREE.DoubleSide });
    this.mesh = new THREE.Mesh(new THREE.PlaneGeometry(1, 1), this.material);
    this.el.setObject3D("mesh", this.mesh);
    this.el.classList.add("media-object");
    this.image = null;
    this.loading = 0;
    this.onClick = () => this.el.emit("media-select", { el: this.el });
    this.el.addEventListener("click", this.onClick);
  },

  update(old) {
    const d = this.data;
    if (old && old.src === d.src && old.link === d.link && old.title === d.title) return;
    this.show(d.src, true);
  },

  async show(src, mayResolve) {
    const attempt = ++this.loading;
    const path = src ? serverPath(src, window.location.href) : null;
    if (path) {
      try {
        const image = await loadImage(path);
        if (attempt === this.loading) this.picture(image, image);
        return;
      } catch (err) {
        if (attempt !== this.loading) return;
      }
    }
    if (mayResolve && this.data.link && resolver) {
      // A thumbnail lives for a while only (and a restart forgets it):
      // ask the server for the link again.
      try {
        const view = linkView(this.data.link, await resolver.resolve(this.data.link), window.location.href);
        if (attempt === this.loading && view.thumbnail) {
          this.show(view.thumbnail, false);
          return;
        }
      } catch (err) {
        // shown as a card below
      }
    }
    if (attempt !== this.loading) return;
    if (this.data.title || this.data.link) {
      const canvas = drawCard(this.data.title || this.data.link, this.data.link);
      this.picture(canvas, null);
    } else {
      this.material.color.set("#c05050");
      this.el.emit("media-failed", { src });
    }
  },

  picture(source, image) {
    const texture = source instanceof HTMLCanvasElement ? new THREE.CanvasTexture(source) : new THREE.Texture(source);
    texture.colorSpace = THREE.SRGBColorSpace;
    texture.needsUpdate = true;
    if (this.texture) this.texture.dispose();
    this.texture = texture;
    this.material.map = texture;
    this.material.color.set("#ffffff");
    this.material.needsUpdate = true;
    const size = planeSize(source.naturalWidth || source.width, source.naturalHeight || source.height);
    this.mesh.geometry.dispose();
    this.mesh.geometry = new THREE.PlaneGeometry(size.width, size.height);
    this.image = image;
    this.size = size;
    this.el.emit("media-loaded", { size });
  },

  remove() {
    this.el.removeEventListener("click", this.onClick);
    this.el.removeObject3D("mesh");
    if (this.texture) this.texture.dispose();
    this.mesh.geometry.dispose();
    this.material.dispose();
  },
});

// Carried: the object stays 1.5 m in front of the camera, facing it.
AFRAME.registerComponent("carried", {
  init() {
    this.ahead = new THREE.Vector3();
    this.turn = new THREE.Quaternion();
  },
  tick() {
    const camera = this.el.sceneEl.camera;
    if (!camera) return;
    camera.getWorldPosition(this.ahead);
    camera.getWorldQuaternion(this.turn);
    const look = new THREE.Euler().setFromQuaternion(this.turn, "YXZ");
    const forward = new THREE.Vector3(0, 0, -1.5).applyAxisAngle(THREE.Object3D.DEFAULT_UP, look.y);
    this.el.object3D.position.copy(this.ahead).add(forward);
    this.el.object3D.rotation.set(0, look.y, 0);
  },
});

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

/** A media entity in `scene` (networked unless `local`), showing `image` ({src, link, title}). */
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
 * The media objects of one room page: sharing, carrying, pinning, and the
 * tools shown on the selected object. `notice(text, kind)` shows words.
 */
export class MediaObjects {
  constructor({ scene, session, transport, notice, tools }) {
    this.scene = scene;
    this.session = session;
    this.transport = transport;
    this.notice = notice;
    this.tools = tools;
    // The promotion tokens of this page's own uploads, by networkId: in
    // memory only (whoever holds one can keep the file for good).
    this.uploads = new Map();
    this.pinned = new Set();
    this.selected = null;
    this.carrying = null;
    scene.addEventListener("media-select", (e) => this.select(e.detail.el));
  }

  /** Show `image` in front of the camera, networked; its networkId. */
  spawn(image, upload = null) {
    const networkId = NAF.utils.createNetworkId();
    if (upload) this.uploads.set(networkId, upload);
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
    const upload = this.uploads.get(id);
    const args = { object_id: id, gltf };
    if (upload && upload.fileId) {
      args.file_id = upload.fileId;
      if (upload.promotionToken) args.promotion_token = upload.promotionToken;
    }
    const again = this.pinned.has(id);
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
