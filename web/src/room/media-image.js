// The A-Frame components of media objects: `media-image`, the picture (an
// uploaded image, a link's thumbnail, or a title card) on a plane with its
// aspect ratio, and `carried`, which keeps an object in front of the camera.
/* global AFRAME, THREE */
import { linkView, planeSize, serverPath } from "./media.js";

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

