// Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for
// the web client scenarios of test_web_client.py. Headless, fake media
// devices, no network beyond the loopback server under test.
'use strict';

const { chromium } = require('playwright-core');

const ARGS = [
   '--no-sandbox',
   '--use-fake-ui-for-media-stream',
   '--use-fake-device-for-media-stream',
   '--allow-loopback-in-peer-connection',
   '--disable-background-networking',
   '--disable-component-update',
   '--disable-sync',
   '--no-first-run',
   '--disable-quic',
];

async function launch() {
   return chromium.launch({
      executablePath: process.env.HUBSD_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ARGS,
   });
}

// One person: a browser context of its own (own storage), one page. Page
// errors and requests to any other origin are collected: the client must
// fetch nothing from elsewhere.
async function person(browser, base, name, viewport = { width: 1100, height: 680 }) {
   const context = await browser.newContext({ viewport });
   const page = await context.newPage();
   const problems = [];
   page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
   // HUBSD_WEB_DEBUG=1: the page's console on stderr, for a failing scenario.
   if (process.env.HUBSD_WEB_DEBUG) page.on('console', (m) => console.error(`${name} console ${m.type()}: ${m.text()}`));
   page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(base) && !url.startsWith('ws://127.0.0.1') && !url.startsWith('data:')) {
         problems.push(`${name}: fetched ${url}`);
      }
   });
   return { name, context, page, problems };
}

// Lobby -> create a room -> in it. Resolves with the room's sid.
async function createRoom(p, base, room, options = {}) {
   await p.page.goto(base + '/');
   await p.page.fill('#display-name', p.name);
   await p.page.fill('#room-name', room);
   if (options.entryMode) await p.page.selectOption('#entry-mode', options.entryMode);
   if (options.seats) await p.page.fill('#room-size', String(options.seats));
   await p.page.click('#create-room');
   await p.page.waitForSelector('#chat-input', { timeout: 30000 });
   return p.page.evaluate(() => decodeURIComponent(location.pathname.split('/')[1]));
}

// Lobby -> the listed room `sid` -> click Join. Resolves with the time of the
// click. `query`: the lobby's query string (e.g. '?transport=phoenix').
async function joinFromLobby(p, base, sid, query = '') {
   await p.page.goto(base + '/' + query);
   await p.page.fill('#display-name', p.name);
   const button = p.page.locator(`.room-item[data-sid="${sid}"] button.join`);
   await button.waitFor({ timeout: 15000 });
   const clicked = Date.now();
   await button.click();
   await p.page.waitForSelector('#chat-input', { timeout: 30000 });
   return clicked;
}

// Route this page's websockets whose URL matches `pattern` (the WAMP one by
// default) through the test, so that it can drop them (`drop`).
async function droppable(p, pattern = /\/ws$/) {
   const sockets = [];
   await p.page.routeWebSocket(pattern, (ws) => {
      const server = ws.connectToServer();
      sockets.push({ ws, server });
   });
   return sockets;
}

// Drop the latest of `sockets` as a network would: the server's side goes
// without a close handshake, the page's side closes abnormally.
async function drop(sockets) {
   const open = sockets[sockets.length - 1];
   await open.server.close({ code: 1006 });
   await open.ws.close({ code: 4000, reason: 'test: dropped' });
}

// `from` says `text` in chat (with the Send button, or Enter when `enter`),
// and `to` shows it.
async function say(from, to, text, { enter = false } = {}) {
   await from.page.fill('#chat-input', text);
   if (enter) await from.page.press('#chat-input', 'Enter');
   else await from.page.click('#chat-send');
   await to.page.waitForSelector(`#chat-messages li:has-text(${JSON.stringify(text)})`, { timeout: 10000 });
}

// The chat lines and the people this page shows.
async function chatAndPeople(p) {
   return {
      chat: await p.page.locator('#chat-messages li').allInnerTexts(),
      people: await p.page.locator('#people li .who').allInnerTexts(),
   };
}

// Wait until this page says it is reconnecting, then that it reconnected; the status then.
async function reconnected(p) {
   await p.page.waitForFunction(() => /Reconnecting in/.test(document.querySelector('#status').textContent), null, { timeout: 15000 });
   await p.page.waitForFunction(() => /Reconnected/.test(document.querySelector('#status').textContent), null, { timeout: 30000 });
   return p.page.locator('#status').innerText();
}

// The session id this page has in the room.
function sessionId(p) {
   return p.page.evaluate(() => {
      const me = document.querySelector('#me');
      return me && me.components.networked ? me.components.networked.data.owner : null;
   });
}

// The position of the avatar of `owner` as this page shows it, or null.
function avatarOf(p, owner) {
   return p.page.evaluate((owner) => {
      for (const el of document.querySelectorAll('[networked]')) {
         const n = el.components.networked;
         if (el.id !== 'me' && n && n.data.owner === owner && n.data.template === '#hubsd-avatar') {
            const { x, y, z } = el.object3D.position;
            const tag = el.querySelector('.tag');
            return { x, y, z, name: tag ? tag.getAttribute('name-tag').value : null };
         }
      }
      return null;
   }, owner);
}

async function waitForAvatar(p, owner, timeout = 20000) {
   await p.page.waitForFunction(
      (owner) => [...document.querySelectorAll('[networked]')].some((el) => {
         const n = el.components.networked;
         return el.id !== 'me' && n && n.data.owner === owner && n.data.template === '#hubsd-avatar';
      }),
      owner,
      { timeout, polling: 'raf' },
   );
}

// Walk with `key` (W A S D) until this page's camera has moved `metres`.
// The page comes to the front first (a page in the background gets no
// animation frames); focus changes may clear A-Frame's held keys, so a walk
// that did not get anywhere presses the key again (a few times at most).
async function walk(p, key, metres = 1) {
   await p.page.bringToFront();
   const where = () => p.page.evaluate(() => {
      const { x, z } = document.querySelector('#me').object3D.position;
      return { x, z };
   });
   const start = await where();
   for (let attempt = 1; attempt <= 5; attempt += 1) {
      await p.page.locator('a-scene canvas').click({ position: { x: 300, y: 300 } });
      await p.page.keyboard.down(key);
      const moved = await p.page.waitForFunction(
         ([x, z, metres]) => {
            const at = document.querySelector('#me').object3D.position;
            return Math.hypot(at.x - x, at.z - z) >= metres;
         },
         [start.x, start.z, metres],
         { timeout: 5000 },
      ).then(() => true, () => false);
      await p.page.keyboard.up(key);
      if (moved) return { start, end: await where(), attempts: attempt };
   }
   const state = await p.page.evaluate(async () => ({
      active: `${document.activeElement.tagName}#${document.activeElement.id}`,
      focus: document.hasFocus(),
      visible: document.visibilityState,
      at: document.querySelector('#me').object3D.position.toArray(),
      keys: [...document.querySelector('#me').components['walk-keys'].held],
      playing: [document.querySelector('#me').isPlaying, document.querySelector('a-scene').isPlaying],
      lost: document.querySelector('a-scene').renderer.getContext().isContextLost(),
      frames: await new Promise((resolve) => {
         let n = 0;
         const step = () => { n += 1; requestAnimationFrame(step); };
         requestAnimationFrame(step);
         setTimeout(() => resolve(n), 1000);
      }),
   }));
   throw new Error(`${p.name} did not move with ${key}: ${JSON.stringify(state)}`);
}

// Put this page's camera at (x, 1.6, z), turned `yaw` radians (0 looks at -z).
function stand(p, x, z, yaw) {
   return p.page.evaluate(([x, z, yaw]) => {
      const me = document.querySelector('#me');
      me.object3D.position.set(x, 1.6, z);
      const look = me.components['look-controls'];
      look.yawObject.rotation.y = yaw;
      look.pitchObject.rotation.x = 0;
   }, [x, z, yaw]);
}

// Wait until this page shows `owner`'s avatar where `where` says: below a
// value on one axis ({axis: 'x', below: 1.2}) or within 5 cm of {x, z}.
function waitForAvatarWhere(p, owner, where, timeout = 15000) {
   return p.page.waitForFunction(
      ([id, w]) => {
         for (const el of document.querySelectorAll('[networked]')) {
            const n = el.components.networked;
            if (el.id !== 'me' && n && n.data.owner === id) {
               const at = el.object3D.position;
               if (w.axis) return at[w.axis] < w.below;
               return Math.abs(at.x - w.x) < 0.05 && Math.abs(at.z - w.z) < 0.05;
            }
         }
         return false;
      },
      [owner, where],
      { timeout },
   );
}

async function framesPerSecond(p, ms = 3000) {
   await p.page.bringToFront();
   return p.page.evaluate((ms) => new Promise((resolve) => {
      let frames = 0;
      const start = performance.now();
      const step = (now) => {
         frames += 1;
         if (now - start < ms) requestAnimationFrame(step);
         else resolve((frames * 1000) / (now - start));
      };
      requestAnimationFrame(step);
   }), ms);
}

// This page's inbound audio, one entry per voice subscription: {from (the
// publisher's session id), handle (the SFU handle), bytesReceived, audioLevel}
// as getStats reports them.
function inboundAudio(p) {
   return p.page.evaluate(async () => {
      const voice = window.hubsdDebug && window.hubsdDebug.voice;
      if (!voice) return [];
      const found = [];
      for (const { sessionId, handleId, pc } of voice.subscriptions()) {
         (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') {
               found.push({ from: sessionId, handle: handleId, bytesReceived: s.bytesReceived || 0, audioLevel: s.audioLevel || 0 });
            }
         });
      }
      return found;
   });
}

// Poll inboundAudio until `test(entries)` holds; the entries then. Throws
// with the last entries, saying `what` was awaited, after `timeout` ms.
async function waitForInbound(p, test, what, timeout = 30000) {
   const until = Date.now() + timeout;
   let last = [];
   while (Date.now() < until) {
      last = await inboundAudio(p);
      if (test(last)) return last;
      await p.page.waitForTimeout(250);
   }
   throw new Error(`${p.name}: ${what} did not happen: ${JSON.stringify(last)}`);
}

// This page hears `from` (any publisher if omitted): bytes and a level above 0.
function waitForHearing(p, from, timeout = 30000) {
   return waitForInbound(p, (entries) => entries.some((s) => (!from || s.from === from) && s.bytesReceived > 0 && s.audioLevel > 0),
      `hearing ${from || 'anyone'}`, timeout);
}

// This page hears `from` no more: its level there has fallen to 0.
function waitForSilence(p, from, timeout = 20000) {
   return waitForInbound(p, (entries) => entries.some((s) => s.from === from && s.audioLevel === 0),
      `${from} going quiet`, timeout);
}

// The peer connections this page's voice holds (its microphone's and one per person heard).
function peerConnections(p) {
   return p.page.evaluate(() => window.hubsdDebug.voice.peerConnections().length);
}

// `moderator` mutes `member` (session id `memberId`) from the people list;
// resolves with the notice `member`'s page shows (it says who did it).
async function muteFromPeople(moderator, member, memberId) {
   await moderator.page.click(`#people li[data-session-id="${memberId}"] button[data-action="mute"]`);
   const notice = member.page.locator('#notices .notice.info', { hasText: 'muted your microphone' });
   await notice.first().waitFor({ timeout: 15000 });
   return notice.first().innerText();
}

// This page's own Unmute (which asks the server to lift a moderator's mute
// first); resolves with the button's words once it offers Mute again.
async function unmuteSelf(p) {
   await p.page.click('#mute');
   await p.page.waitForFunction(() => document.querySelector('#mute').textContent === 'Mute', null, { timeout: 15000 });
   return p.page.locator('#mute').innerText();
}

// Run `body(browser, base, outdir, partial)`, print its result as one JSON
// line, exit non-zero on failure (printing the error and what `partial` holds).
function main(body) {
   const base = process.argv[2];
   const out = process.argv[3];
   if (!base || !out) throw new Error('usage: node SCRIPT http://127.0.0.1:PORT OUTDIR');
   let browser;
   const partial = {};
   (async () => {
      browser = await launch();
      const result = await body(browser, base, out, partial);
      console.log(JSON.stringify(result));
      await browser.close();
   })().catch(async (err) => {
      console.log(JSON.stringify({ error: String(err && err.stack ? err.stack : err), partial }));
      if (browser) await browser.close().catch(() => {});
      process.exit(1);
   });
}

module.exports = {
   avatarOf, chatAndPeople, createRoom, drop, droppable, framesPerSecond, inboundAudio, joinFromLobby, launch,
   main, muteFromPeople, peerConnections, person, reconnected, say, sessionId, stand, unmuteSelf, waitForAvatar,
   waitForAvatarWhere, waitForHearing, waitForInbound, waitForSilence, walk,
};
