// How a person shares an image with the room: dropping a file or a link on
// it, "Add image" (a file picker), Ctrl+V on the page, or the "Paste a
// link" field. Files are uploaded and links resolved through the media
// backend (room/media.js); what comes back becomes a media object
// (room/media-objects.js). Every refusal is said through `notice`.
import { h } from "../dom.js";
import { SPAWN_DENIED } from "../transport/errors.js";
import { IMAGE_TYPES, linkIn, linkView } from "./media.js";

function carriesMedia(event) {
  const types = event.dataTransfer ? [...event.dataTransfer.types] : [];
  return types.includes("Files") || types.includes("text/uri-list");
}

function inTextField(target) {
  return Boolean(target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable));
}

/** The sharing controls of one room page: `controls` for its top bar, `dropHint` over the scene. */
export class MediaSharing {
  constructor({ session, media, objects, notice }) {
    this.session = session;
    this.media = media;
    this.objects = objects;
    this.notice = notice;
    this.fileInput = h("input", {
      id: "image-file", type: "file", accept: "image/*", hidden: true,
      onchange: () => {
        const file = this.fileInput.files && this.fileInput.files[0];
        this.fileInput.value = "";
        this.shareFile(file);
      },
    });
    this.linkInput = h("input", { id: "link-input", type: "url", placeholder: "Paste a link…", autocomplete: "off" });
    const linkForm = h("form", {
      id: "link-form", class: "link-form",
      onsubmit: (event) => {
        event.preventDefault();
        const text = this.linkInput.value.trim();
        if (!text) return;
        this.linkInput.value = "";
        this.shareLink(text);
      },
    }, this.linkInput, h("button", { id: "link-add", type: "submit", title: "Show the link in the room" }, "Show link"));
    this.controls = [
      h("button", {
        id: "add-image", type: "button", onclick: () => this.fileInput.click(),
        title: "Share an image from this computer (or drop one on the room)",
      }, "Add image"),
      this.fileInput,
      linkForm,
    ];
    this.dropHint = h("div", { id: "drop-hint", class: "drop-hint", hidden: true }, "Drop the image to share it with the room");
    this.onPaste = (event) => this.pasted(event);
  }

  /** Listen for drops on `room` and for pastes on the page. */
  attach(room) {
    room.addEventListener("dragover", (event) => {
      if (!carriesMedia(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      this.dropHint.hidden = false;
    });
    room.addEventListener("dragleave", (event) => {
      if (!room.contains(event.relatedTarget)) this.dropHint.hidden = true;
    });
    room.addEventListener("drop", (event) => {
      this.dropHint.hidden = true;
      if (!carriesMedia(event)) return;
      event.preventDefault();
      const data = event.dataTransfer;
      if (data.files && data.files.length) this.shareFile(data.files[0]);
      else this.shareLink(data.getData("text/uri-list") || data.getData("text/plain"));
    });
    window.addEventListener("paste", this.onPaste);
  }

  detach() {
    window.removeEventListener("paste", this.onPaste);
  }

  // Ctrl+V on the page (a text field keeps its own paste): an image or a link.
  pasted(event) {
    const data = event.clipboardData;
    if (inTextField(event.target) || !data) return;
    const file = [...data.files].find((f) => f.type.startsWith("image/")) || data.files[0];
    if (file) {
      event.preventDefault();
      this.shareFile(file);
      return;
    }
    const text = data.getData("text/uri-list") || data.getData("text/plain");
    if (linkIn(text)) {
      event.preventDefault();
      this.shareLink(text);
    }
  }

  // Sharing spawns a "-media" object: without the permission the server
  // would refuse it, so nothing is uploaded first.
  mayShare() {
    if (this.session.permissions.spawn_and_move_media) return true;
    this.notice(SPAWN_DENIED);
    return false;
  }

  async shareFile(file) {
    if (!file || !this.mayShare()) return;
    const name = file.name || "the image";
    if (file.type && !file.type.startsWith("image/")) {
      this.notice(`${name} is not an image (${file.type}): only images can be shared here.`);
      return;
    }
    this.notice(`Sharing ${name}…`, "info");
    try {
      const upload = await this.media.upload(file);
      if (!IMAGE_TYPES.includes(upload.contentType)) {
        this.notice(`${name} is ${upload.contentType || "of an unknown type"}: only images can be shown here.`);
        return;
      }
      this.objects.spawn({ src: upload.src, link: "", title: "" }, upload);
    } catch (err) {
      this.notice(err.message);
    }
  }

  async shareLink(text) {
    const url = linkIn(text);
    if (!url) {
      this.notice("That is not a link: it should start with http:// or https://.");
      return;
    }
    if (!this.mayShare()) return;
    try {
      const view = linkView(url, await this.media.resolve(url), window.location.href);
      if (view.show === "nothing") this.notice(view.words);
      else this.objects.spawn({ src: view.thumbnail || "", link: url, title: view.title || "" });
    } catch (err) {
      this.notice(err.message);
    }
  }
}
