// The A-Frame components of the room: avatars (a head with a name tag) and
// the boxes members may place. Registered once, before the scene exists.
// (Media objects, images on a plane, are in media-objects.js.)
/* global AFRAME, THREE, NAF */
import { MEDIA_TEMPLATE } from "./media.js";

export const AVATAR_TEMPLATE = "#hubsd-avatar";
export const BOX_TEMPLATE = "#hubsd-box-media";

// A name tag drawn on a canvas: A-Frame's text component would fetch its
// font from a CDN, and hubsd's page fetches nothing from elsewhere.
AFRAME.registerComponent("name-tag", {
  schema: { value: { default: "" } },
  init() {
    this.canvas = document.createElement("canvas");
    this.canvas.width = 512;
    this.canvas.height = 96;
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    const material = new THREE.MeshBasicMaterial({ map: this.texture, transparent: true, depthWrite: false });
    this.mesh = new THREE.Mesh(new THREE.PlaneGeometry(1.2, 0.225), material);
    this.el.setObject3D("mesh", this.mesh);
  },
  update() {
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, 512, 96);
    ctx.fillStyle = "rgba(20, 24, 36, 0.72)";
    ctx.beginPath();
    ctx.roundRect(4, 8, 504, 80, 36);
    ctx.fill();
    ctx.fillStyle = "#ffffff";
    ctx.font = "600 44px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(this.data.value.slice(0, 28), 256, 50);
    this.texture.needsUpdate = true;
  },
  tick() {
    // Face the camera: a tag is read, not looked at from behind.
    const camera = this.el.sceneEl.camera;
    const object = this.el.object3D;
    if (!camera || !object.parent) return;
    camera.getWorldQuaternion(this.cameraTurn || (this.cameraTurn = new THREE.Quaternion()));
    object.parent.getWorldQuaternion(this.parentTurn || (this.parentTurn = new THREE.Quaternion()));
    object.quaternion.copy(this.cameraTurn).premultiply(this.parentTurn.invert());
  },
  remove() {
    this.el.removeObject3D("mesh");
    this.texture.dispose();
  },
});

// Walking with W A S D or the arrow keys, at a steady speed, on the ground
// plane, in the direction the camera looks. A-Frame's wasd-controls stops
// dead when a frame takes longer than 0.2 s (a slow or software-rendered
// page never moves); here a long frame only counts as 0.25 s.
const WALK_KEYS = {
  KeyW: [0, -1], ArrowUp: [0, -1], KeyS: [0, 1], ArrowDown: [0, 1],
  KeyA: [-1, 0], ArrowLeft: [-1, 0], KeyD: [1, 0], ArrowRight: [1, 0],
};

AFRAME.registerComponent("walk-keys", {
  schema: { speed: { default: 2.5 } },
  init() {
    this.held = new Set();
    this.step = new THREE.Vector3();
    this.down = (e) => {
      // Typing in chat is not walking.
      if (WALK_KEYS[e.code] && document.activeElement === document.body && !e.metaKey) this.held.add(e.code);
    };
    this.up = (e) => this.held.delete(e.code);
    this.clear = () => this.held.clear();
  },
  play() {
    window.addEventListener("keydown", this.down);
    window.addEventListener("keyup", this.up);
    window.addEventListener("blur", this.clear);
  },
  pause() {
    window.removeEventListener("keydown", this.down);
    window.removeEventListener("keyup", this.up);
    window.removeEventListener("blur", this.clear);
    this.held.clear();
  },
  tick(time, delta) {
    if (!this.held.size) return;
    let x = 0;
    let z = 0;
    for (const code of this.held) {
      x += WALK_KEYS[code][0];
      z += WALK_KEYS[code][1];
    }
    const length = Math.hypot(x, z);
    if (!length) return;
    const metres = (this.data.speed * Math.min(delta, 250)) / 1000;
    const look = this.el.components["look-controls"];
    const yaw = look ? look.yawObject.rotation.y : this.el.object3D.rotation.y;
    this.step.set((x / length) * metres, 0, (z / length) * metres).applyAxisAngle(THREE.Object3D.DEFAULT_UP, yaw);
    this.el.object3D.position.add(this.step);
  },
});

// What an avatar looks like, networked with it: the member's name and colour.
AFRAME.registerComponent("avatar-look", {
  schema: { name: { default: "" }, color: { default: "#7aa2ff" } },
  update() {
    const head = this.el.querySelector(".head");
    const tag = this.el.querySelector(".tag");
    if (head) head.setAttribute("material", "color", this.data.color);
    if (tag) tag.setAttribute("name-tag", "value", this.data.name);
  },
});

/** The templates of the networked entities, into the scene's a-assets. */
export function registerTemplates(assets) {
  assets.insertAdjacentHTML(
    "beforeend",
    `<template id="hubsd-avatar">
       <a-entity class="avatar" avatar-look>
         <a-sphere class="head" radius="0.22" material="color: #7aa2ff; roughness: 0.6"></a-sphere>
         <a-sphere class="eye" radius="0.04" position="-0.08 0.05 -0.19" material="color: #111"></a-sphere>
         <a-sphere class="eye" radius="0.04" position="0.08 0.05 -0.19" material="color: #111"></a-sphere>
         <a-cylinder class="body" radius="0.18" height="0.7" position="0 -0.62 0" material="color: #3b4256"></a-cylinder>
         <a-entity class="tag" position="0 0.42 0" name-tag></a-entity>
       </a-entity>
     </template>
     <template id="hubsd-box-media">
       <a-box class="placed" width="0.5" height="0.5" depth="0.5" material="color: #f2a65a"></a-box>
     </template>
     <template id="${MEDIA_TEMPLATE.slice(1)}">
       <a-entity class="media-object" media-image></a-entity>
     </template>`,
  );
}

/** The NAF schemas of those templates; call once the scene is in the document. */
export function registerSchemas() {
  NAF.schemas.add({
    template: AVATAR_TEMPLATE,
    components: ["position", "rotation", "avatar-look"],
  });
  NAF.schemas.add({ template: BOX_TEMPLATE, components: ["position", "rotation", "material"] });
  NAF.schemas.add({ template: MEDIA_TEMPLATE, components: ["position", "rotation", "media-image"] });
}
