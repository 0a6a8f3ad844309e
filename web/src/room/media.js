// Media in the room: images dropped, picked or pasted as a link, through
// hubsd's HTTP API (docs/http-api.md, "Files" and "Media resolution").
//
// This module holds what needs no scene: the two HTTP requests and the words
// for their errors, what a resolved link can be shown as, the size of an
// image's plane, and the pinned description of a media object (a glTF node
// in Hubs' shape) and back. room/media-objects.js puts the objects in the
// scene; both are tested without a browser where they can be.
//
// The page fetches nothing but its own server: files and thumbnails are
// loaded by their path on the server that served the page, and a link's own
// address is never fetched by the browser (the server resolves it and makes
// its thumbnail).

/** The template of a media object (the "-media" suffix needs spawn_and_move_media). */
export const MEDIA_TEMPLATE = "#hubsd-image-media";

/** The longer side of an image's plane, in metres. */
export const IMAGE_SIZE = 1;

/** Image types the client shows (the upload types a browser can draw). */
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const PAGE_TYPES = ["text/html", "application/xhtml+xml"];

/** A media request the server (or the network) refused; `message` is for people. */
export class MediaError extends Error {
  /**
   * @param {string} code the API's error code (too_large, ...) or "unreachable"
   * @param {string} message the words shown
   * @param {number} status the HTTP status (0: no answer)
   */
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// One sentence per error code of the upload and the resolution (the HTTP
// API's tables); the server's own message follows where it says more.
const WORDS = {
  too_large: "That file is too large for this server.",
  over_quota: "That file would take your account over its storage quota on this server.",
  unsupported_media_type: "That kind of file cannot be shared here: use a PNG, JPEG, GIF or WebP image.",
  bad_multipart: "The server could not read the upload.",
  not_signed_in: "The server refused your sign-in; reload the page.",
  bad_authorization: "The server refused your sign-in; reload the page.",
  bad_request: "The server refused the link as malformed.",
  bad_url: "That is not a link the server can open.",
  unsupported_scheme: "Only http and https links can be shared.",
  forbidden_address: "That link points to a private or local address, which the server does not open.",
  redirect_loop: "That link redirects in a loop.",
  too_many_redirects: "That link redirects too many times.",
  upstream_status: "The link's server answered with an error.",
  image_too_large: "That link's picture has too many pixels to show.",
  bad_image: "That link's picture is broken.",
  dns_failed: "The link's host name does not exist.",
  connect_failed: "The link's server cannot be reached.",
  upstream_error: "The link's server broke off its answer.",
  tls_failed: "The link's server has a certificate that does not verify.",
  upstream_encoding: "The link's server sent a compressed answer, which hubsd does not read.",
  busy: "The server is busy fetching other links; try again in a moment.",
  connect_timeout: "The link's server took too long to answer.",
  upstream_timeout: "The link's server took too long to answer.",
  not_implemented: "This server does not open links.",
  not_found: "The server does not know that file.",
};

/**
 * Words for a refused media request: its HTTP status, its JSON body
 * (`{error: {code, message}}`) and, for a 429, its Retry-After header.
 */
export function mediaErrorWords(status, body, retryAfter = null) {
  const error = body && typeof body.error === "object" && body.error ? body.error : {};
  const code = typeof error.code === "string" ? error.code : "";
  const detail = typeof error.message === "string" ? error.message.trim() : "";
  if (status === 429 || code === "rate_limited") {
    const seconds = Number.parseInt(retryAfter, 10);
    const wait = Number.isFinite(seconds) && seconds > 0 ? `wait ${seconds} s` : "wait a moment";
    return `You are sharing too fast; ${wait} and try again.`;
  }
  const words = WORDS[code] || (status === 413 ? WORDS.too_large : status === 415 ? WORDS.unsupported_media_type : "");
  // (The 415's message lists every accepted type, videos too: not what
  // this client can show.)
  const said = detail && code !== "unsupported_media_type" ? sentence(detail) : "";
  if (!words) return `The server refused that (${status}${code ? ` ${code}` : ""}).${said ? ` ${said}` : ""}`;
  return said ? `${words} ${said}` : words;
}

function sentence(text) {
  const end = /[.!?]$/.test(text) ? "" : ".";
  return text.charAt(0).toUpperCase() + text.slice(1) + end;
}

/**
 * The path and query of `url` on the server that served the page, if it is
 * one of hubsd's file or thumbnail URLs; null otherwise (never fetched).
 */
export function serverPath(url, base) {
  let parsed;
  try {
    parsed = new URL(url, base);
  } catch (e) {
    return null;
  }
  if (!/^\/(files|thumbnails)\/[^/]+$/.test(parsed.pathname)) return null;
  return parsed.pathname + parsed.search;
}

/** The URL of an upload for others to load: the server's `origin` with the access token. */
export function uploadedUrl(answer) {
  const origin = String(answer.origin || "");
  const token = answer.meta && answer.meta.access_token;
  return token ? `${origin}${origin.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : origin;
}

/**
 * What a resolved link is shown as (the JSON media API's answer):
 * {show: "image", thumbnail} for an image; {show: "page", thumbnail?, title}
 * for a web page with a picture or a title; otherwise {show: "nothing",
 * words} saying why nothing is shown.
 */
export function linkView(url, answer, base) {
  const meta = (answer && answer.meta) || {};
  const type = typeof meta.expected_content_type === "string" ? meta.expected_content_type : "";
  const thumbnail = typeof meta.thumbnail === "string" ? serverPath(meta.thumbnail, base) : null;
  const title = typeof meta.title === "string" ? meta.title.trim() : "";
  if (IMAGE_TYPES.includes(type) || type === "image/bmp") {
    if (thumbnail) return { show: "image", thumbnail, title };
    return { show: "nothing", words: `The server could not make a picture of ${url}.` };
  }
  if (PAGE_TYPES.includes(type)) {
    if (thumbnail || title) return { show: "page", thumbnail, title: title || hostOf(url) };
    return { show: "nothing", words: `${url} is a web page with no picture or title to show.` };
  }
  const what = type ? `of type ${type}` : "of an unknown type";
  return { show: "nothing", words: `${url} is ${what}: only images and web pages can be shown here.` };
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch (e) {
    return url;
  }
}

/** The plane of an image `width` x `height` pixels: its longer side IMAGE_SIZE metres. */
export function planeSize(width, height, longest = IMAGE_SIZE) {
  if (!(width > 0 && height > 0)) return { width: longest, height: longest };
  return width >= height
    ? { width: longest, height: (longest * height) / width }
    : { width: (longest * width) / height, height: longest };
}

/**
 * The pinned description of a media object, as Hubs pins one: a glTF node
 * named after its networkId, with its place and its media. `image` is the
 * media-image component's data ({src, link, title}).
 */
export function pinNode(networkId, position, quaternion, image) {
  const media = { src: image.link || image.src, id: networkId };
  return {
    name: networkId,
    translation: position.map(round),
    rotation: quaternion.map(round),
    scale: [1, 1, 1],
    extensions: {
      HUBS_components: {
        media,
        pinnable: { pinned: true },
        hubsd_image: { src: image.src || "", link: image.link || "", title: image.title || "" },
      },
    },
  };
}

/**
 * Whether pinning the object showing `image` needs its upload's promotion
 * token: an uploaded file is kept for good only when its uploader's token
 * promotes it (without, the server's sweep deletes it after a day and the
 * pin would show nothing); a link is resolved again from its address.
 */
export function pinNeedsPromotion(image, alreadyPinned, upload) {
  const uploaded = Boolean(image && image.src && !image.link);
  return uploaded && !alreadyPinned && !(upload && upload.promotionToken);
}

/** The words for a pin refused for want of the upload's promotion token. */
export const PIN_NEEDS_UPLOADER =
  "Only the person who shared this image can pin it: the server keeps an upload for good only at their request.";

function round(n) {
  return Math.round(Number(n) * 1e4) / 1e4;
}

/**
 * A pinned object back as {networkId, position, quaternion, image}, or null
 * if it is not a media object this client shows (another client's pin).
 */
export function fromPin(pin) {
  const node = pin && pin.gltf;
  const parts = node && node.extensions && node.extensions.HUBS_components;
  const image = parts && parts.hubsd_image;
  if (!image || typeof pin.object_id !== "string") return null;
  const triple = (v, d) => (Array.isArray(v) && v.length === 3 && v.every(Number.isFinite) ? v : d);
  const quad = (v) => (Array.isArray(v) && v.length === 4 && v.every(Number.isFinite) ? v : [0, 0, 0, 1]);
  return {
    networkId: pin.object_id,
    position: triple(node.translation, [0, 1.6, 0]),
    quaternion: quad(node.rotation),
    image: {
      src: typeof image.src === "string" ? image.src : "",
      link: typeof image.link === "string" ? image.link : "",
      title: typeof image.title === "string" ? image.title : "",
    },
    fileId: typeof pin.file_id === "string" ? pin.file_id : null,
  };
}

// The permission taking an entity (to move it) needs, by template suffix:
// the server's rule (hubsd/rooms/permissions.py, may_take), so that the page
// does not try a take the server will refuse when NAF takes over the
// persistent objects of a member who left.
const TAKE_NEEDS = [
  ["-media", "spawn_and_move_media"],
  ["-camera", "spawn_camera"],
  ["-drawing", "spawn_drawing"],
  ["-pen", "spawn_drawing"],
  ["-emoji", "spawn_emoji"],
];

/** True if a member with `permissions` may take an entity of `template` from its owner. */
export function mayTake(permissions, template) {
  const rule = TAKE_NEEDS.find(([suffix]) => String(template).endsWith(suffix));
  return !rule || Boolean(permissions && permissions[rule[1]]);
}

/** The first http(s) link in pasted text, or null. */
export function linkIn(text) {
  const match = /https?:\/\/[^\s<>"']+/i.exec(String(text || ""));
  return match ? match[0] : null;
}

async function answerOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    // not JSON: the status says it
  }
  if (!response.ok) {
    const code = body && body.error && typeof body.error.code === "string" ? body.error.code : String(response.status);
    throw new MediaError(code, mediaErrorWords(response.status, body, response.headers.get("retry-after")), response.status);
  }
  return body || {};
}

/** The media backend over hubsd's HTTP API (`POST /api/v1/media`). */
export class HttpMedia {
  /** @param {typeof fetch} fetchImpl */
  constructor(fetchImpl = (...args) => window.fetch(...args)) {
    this.fetch = fetchImpl;
    this.available = true;
  }

  async post(init) {
    let response;
    try {
      response = await this.fetch("/api/v1/media", { method: "POST", cache: "no-store", ...init });
    } catch (err) {
      throw new MediaError("unreachable", "The server cannot be reached; the file was not shared.");
    }
    return answerOf(response);
  }

  /**
   * Upload `file`; resolves with {fileId, src (for everyone, with the access
   * token), promotionToken (keep it to pin), contentType}.
   */
  async upload(file) {
    const form = new FormData();
    form.append("media", file, file.name || "image");
    form.append("promotion_mode", "with_token");
    const answer = await this.post({ body: form });
    const meta = answer.meta || {};
    return {
      fileId: answer.file_id,
      src: uploadedUrl(answer),
      promotionToken: meta.promotion_token || null,
      contentType: meta.expected_content_type || "",
    };
  }

  /** Resolve a pasted link; resolves with the API's answer ({origin, meta}). */
  resolve(url) {
    return this.post({
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ media: { url, quality: "high" }, version: 1 }),
    });
  }
}
