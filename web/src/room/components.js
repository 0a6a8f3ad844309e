// The A-Frame components of the room: avatars (a head with a name tag) and
// the boxes members may place. Registered once, before the scene exists.
/* global AFRAME, THREE, NAF */

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
}
