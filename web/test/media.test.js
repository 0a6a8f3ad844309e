// The media logic that needs no browser: the words for every refused upload
// or link, what a resolved link is shown as, which URLs the page may load,
// an image's plane, the pinned description and back, the take rule.
// (tests/interop/web_media.js runs the rest in Chromium against hubsd.)
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  HttpMedia, MediaError, fromPin, linkIn, linkView, mayTake, mediaErrorWords, pinNeedsPromotion, pinNode,
  planeSize, serverPath, uploadedUrl,
} from "../src/room/media.js";

const BASE = "http://127.0.0.1:8080/AbCdEfG/room";
const err = (code, message) => ({ error: { code, message } });

test("every upload refusal has its words, with the server's detail", () => {
  assert.equal(
    mediaErrorWords(413, err("too_large", "the file is larger than 51200 bytes")),
    "That file is too large for this server. The file is larger than 51200 bytes.",
  );
  assert.match(mediaErrorWords(413, err("over_quota", "")), /storage quota/);
  assert.match(mediaErrorWords(415, err("unsupported_media_type", "")), /^That kind of file cannot be shared here/);
  assert.equal(mediaErrorWords(429, err("rate_limited", "slow down"), "3"), "You are sharing too fast; wait 3 s and try again.");
  assert.equal(mediaErrorWords(429, null, null), "You are sharing too fast; wait a moment and try again.");
  // A bare status without a body still says what it means.
  assert.equal(mediaErrorWords(413, null), "That file is too large for this server.");
  // An unknown code is named rather than hidden.
  assert.equal(mediaErrorWords(500, err("internal", "boom")), "The server refused that (500 internal). Boom.");
});

test("every resolution refusal has its own words", () => {
  const codes = [
    "bad_request", "bad_url", "unsupported_scheme", "forbidden_address", "redirect_loop",
    "too_many_redirects", "upstream_status", "image_too_large", "bad_image", "dns_failed",
    "connect_failed", "upstream_error", "tls_failed", "upstream_encoding", "busy",
    "connect_timeout", "not_implemented",
  ];
  const words = codes.map((code) => mediaErrorWords(422, err(code, "")));
  for (const [i, w] of words.entries()) assert.doesNotMatch(w, /refused that \(/, codes[i]);
  assert.equal(new Set(words).size, codes.length);
  assert.match(
    mediaErrorWords(403, err("forbidden_address", "127.0.0.1 is not a public address")),
    /private or local address.*127\.0\.0\.1 is not a public address\.$/,
  );
});

test("only this server's file and thumbnail paths are loaded", () => {
  assert.equal(serverPath("https://hubs.example/files/ab12.png?token=t", BASE), "/files/ab12.png?token=t");
  assert.equal(serverPath("/thumbnails/4f1c.jpg", BASE), "/thumbnails/4f1c.jpg");
  assert.equal(serverPath("https://elsewhere.example/cat.png", BASE), null);
  assert.equal(serverPath("https://elsewhere.example/files/a/b.png", BASE), null);
  assert.equal(serverPath("not a url at all ::", "nope"), null);
});

test("an upload's URL carries its access token", () => {
  const answer = { origin: "http://h/files/ab.png", meta: { access_token: "t 1" } };
  assert.equal(uploadedUrl(answer), "http://h/files/ab.png?token=t%201");
});

test("a resolved link is an image, a page card, or words saying why not", () => {
  const image = { meta: { expected_content_type: "image/png", thumbnail: "http://h/thumbnails/k.jpg", width: 4, height: 2 } };
  assert.deepEqual(linkView("http://x/a.png", image, BASE), { show: "image", thumbnail: "/thumbnails/k.jpg", title: "" });
  const page = { meta: { expected_content_type: "text/html", title: " A page ", thumbnail: "http://h/thumbnails/p.jpg" } };
  assert.deepEqual(linkView("http://x/", page, BASE), { show: "page", thumbnail: "/thumbnails/p.jpg", title: "A page" });
  // A page whose picture could not be fetched names its own URL: shown as a card, not fetched.
  const foreign = { meta: { expected_content_type: "text/html", title: "X", thumbnail: "http://x/pic.png" } };
  assert.deepEqual(linkView("http://x.example/p", foreign, BASE), { show: "page", thumbnail: null, title: "X" });
  const bare = { meta: { expected_content_type: "text/html" } };
  assert.equal(linkView("http://x/p", bare, BASE).words, "http://x/p is a web page with no picture or title to show.");
  const video = { meta: { expected_content_type: "video/mp4" } };
  assert.equal(linkView("http://x/v", video, BASE).words, "http://x/v is of type video/mp4: only images and web pages can be shown here.");
  assert.equal(linkView("http://x/v", {}, BASE).show, "nothing");
});

test("an image's plane keeps its aspect ratio, the longer side one metre", () => {
  assert.deepEqual(planeSize(400, 200), { width: 1, height: 0.5 });
  assert.deepEqual(planeSize(30, 60), { width: 0.5, height: 1 });
  assert.deepEqual(planeSize(0, 0), { width: 1, height: 1 });
});

test("a pinned media object comes back as it was pinned", () => {
  const image = { src: "http://h/files/ab.png?token=t", link: "", title: "" };
  const node = pinNode("n1", [1, 1.6, -2], [0, 0.7071068, 0, 0.7071068], image);
  assert.equal(node.name, "n1");
  assert.deepEqual(node.extensions.HUBS_components.media, { src: image.src, id: "n1" });
  const back = fromPin({ object_id: "n1", gltf: node, file_id: "ab" });
  assert.deepEqual(back, {
    networkId: "n1", position: [1, 1.6, -2], quaternion: [0, 0.7071, 0, 0.7071], image, fileId: "ab",
  });
  // A link keeps its address as Hubs' media src.
  const link = pinNode("n2", [0, 0, 0], [0, 0, 0, 1], { src: "/thumbnails/k.jpg", link: "http://x/", title: "X" });
  assert.equal(link.extensions.HUBS_components.media.src, "http://x/");
  // Pins of another client's making, or broken ones, are not ours to show.
  assert.equal(fromPin({ object_id: "n3", gltf: { name: "n3" } }), null);
  const odd = fromPin({ object_id: "n4", gltf: { translation: "x", extensions: { HUBS_components: { hubsd_image: {} } } } });
  assert.deepEqual([odd.position, odd.quaternion, odd.image], [[0, 1.6, 0], [0, 0, 0, 1], { src: "", link: "", title: "" }]);
});

test("a link is found in pasted text", () => {
  assert.equal(linkIn("look: https://example.com/a.png please"), "https://example.com/a.png");
  assert.equal(linkIn("no link here"), null);
  assert.equal(linkIn("ftp://example.com/"), null);
});

test("taking a media object needs spawn_and_move_media; avatars and scene objects need nothing", () => {
  assert.equal(mayTake({ spawn_and_move_media: true }, "#hubsd-image-media"), true);
  assert.equal(mayTake({ spawn_and_move_media: false }, "#hubsd-image-media"), false);
  assert.equal(mayTake({}, "#hubsd-avatar"), true);
  assert.equal(mayTake({}, "#scene-door"), true);
  assert.equal(mayTake({ spawn_drawing: false }, "#hubsd-pen"), false);
});

test("the HTTP backend uploads a form and turns a refusal into words", async () => {
  const asked = [];
  const answers = [
    new Response(JSON.stringify({
      file_id: "ab", origin: "http://h/files/ab.png",
      meta: { access_token: "tok", promotion_token: "pro", expected_content_type: "image/png" },
    }), { status: 200 }),
    new Response(JSON.stringify(err("too_large", "the file is larger than 10 bytes")), { status: 413 }),
  ];
  const media = new HttpMedia(async (url, init) => {
    asked.push([url, init]);
    return answers.shift();
  });
  const file = new File([new Uint8Array([1, 2, 3])], "a.png", { type: "image/png" });
  assert.deepEqual(await media.upload(file), {
    fileId: "ab", src: "http://h/files/ab.png?token=tok", promotionToken: "pro", contentType: "image/png",
  });
  assert.equal(asked[0][0], "/api/v1/media");
  assert.equal(asked[0][1].body.get("promotion_mode"), "with_token");
  assert.equal(asked[0][1].body.get("media").name, "a.png");
  await assert.rejects(media.upload(file), (e) => e instanceof MediaError && e.code === "too_large" && e.status === 413
    && e.message === "That file is too large for this server. The file is larger than 10 bytes.");
  const down = new HttpMedia(async () => { throw new TypeError("fetch failed"); });
  await assert.rejects(down.resolve("http://x/"), (e) => e.code === "unreachable" && /cannot be reached/.test(e.message));
});

test("pinning an upload for the first time needs its promotion token; links and re-pins do not", () => {
  const upload = { src: "/files/abc.png?token=t", link: "", title: "" };
  const link = { src: "/thumbnails/x.png", link: "https://example.org/cat.png", title: "" };
  const token = { fileId: "abc", promotionToken: "p" };
  assert.equal(pinNeedsPromotion(upload, false, undefined), true);
  assert.equal(pinNeedsPromotion(upload, false, { fileId: "abc", promotionToken: null }), true);
  assert.equal(pinNeedsPromotion(upload, false, token), false);
  assert.equal(pinNeedsPromotion(upload, true, undefined), false); // promoted by the first pin
  assert.equal(pinNeedsPromotion(link, false, undefined), false);
});
