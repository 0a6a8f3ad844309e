// Media in the room, in real Chromium against hubsd: an image dropped by
// one member is seen by the others, loaded from the server with its access
// token; a member without spawn_and_move_media may neither move nor share
// it (refusals in words); with the permission, another member takes it and
// moves it and the dropper sees it move; pinned, it is there after a reload
// and for a late joiner; unpinned, it leaves every page. A pasted link to a
// loopback page (the daemon is told it may fetch 127.0.0.1) shows its
// picture; an oversized and a mistyped upload are refused in words.
'use strict';

const http = require('http');
const b = require('./browser');

const TEMPLATE = '#hubsd-image-media';
const started = Date.now();
// Progress on stderr (shown when the scenario fails or times out).
const step = (what) => console.error(`web_media ${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

// A small HTTP server for the links: a page with an OpenGraph picture, that
// picture, and a page with nothing to show. Only hubsd fetches from it.
function linkServer(png) {
   const pages = {
      '/page.html': ['text/html', '<html><head><title>A picture page</title>'
         + '<meta property="og:image" content="/pic.png"></head><body>hello</body></html>'],
      '/bare.html': ['text/html', '<html><head></head><body>nothing here</body></html>'],
      '/pic.png': ['image/png', png],
   };
   const server = http.createServer((req, res) => {
      const page = pages[req.url];
      if (!page) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': page[0] });
      res.end(page[1]);
   });
   return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// A PNG of `w` x `h` made in the page (noise: it does not compress), as base64.
const pngIn = (p, w, h, noise) => p.page.evaluate(([w, h, noise]) => {
   const canvas = document.createElement('canvas');
   canvas.width = w;
   canvas.height = h;
   const ctx = canvas.getContext('2d');
   if (noise) {
      const data = ctx.createImageData(w, h);
      for (let i = 0; i < data.data.length; i += 1) data.data[i] = (i % 4 === 3) ? 255 : Math.floor(Math.random() * 256);
      ctx.putImageData(data, 0, 0);
   } else {
      ctx.fillStyle = '#d04a4a';
      ctx.fillRect(0, 0, w, h);
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(w / 4, h / 4, w / 2, h / 2);
   }
   return canvas.toDataURL('image/png').split(',')[1];
}, [w, h, noise]);

// The media objects this page shows: networkId, owner, where, the loaded
// picture's natural size, the plane's size.
const mediaOf = (p) => p.page.evaluate((template) => [...document.querySelectorAll('[networked]')]
   .filter((el) => el.components.networked && el.components.networked.data.template === template)
   .map((el) => {
      const m = el.components['media-image'];
      const { x, y, z } = el.object3D.position;
      return {
         id: el.components.networked.data.networkId,
         owner: el.components.networked.data.owner,
         at: { x, y, z },
         link: m ? m.data.link : null,
         src: m ? m.data.src : null,
         natural: m && m.image ? [m.image.naturalWidth, m.image.naturalHeight] : null,
         plane: m && m.size ? [m.size.width, m.size.height] : null,
      };
   }), TEMPLATE);

// Wait until this page shows the media object `id` with its picture loaded
// (or any new one when `id` is null and `except` lists the known ones).
async function waitForMedia(p, id, except = [], timeout = 20000) {
   await p.page.waitForFunction(([template, id, except]) => [...document.querySelectorAll('[networked]')]
      .some((el) => {
         const n = el.components.networked;
         const m = el.components['media-image'];
         return n && n.data.template === template && (id ? n.data.networkId === id : !except.includes(n.data.networkId))
            && m && m.image && m.image.naturalWidth > 0;
      }), [TEMPLATE, id, except], { timeout });
   const all = await mediaOf(p);
   return id ? all.find((m) => m.id === id) : all.find((m) => !except.includes(m.id));
}

// The next error notice this page shows after `action` (notices go away by
// themselves after a while, so the ones already there are marked first).
async function refusalAfter(p, action) {
   await p.page.evaluate(() => document.querySelectorAll('#notices .notice').forEach((n) => { n.dataset.seen = '1'; }));
   await action();
   const notice = p.page.locator('#notices .notice.error:not([data-seen])').first();
   await notice.waitFor({ timeout: 15000 });
   return notice.innerText();
}

// Stand 2 m in front of object `id` (on +z, looking at -z; if another
// object is in the way, behind it, looking at +z), then click it where the
// camera shows it: its tools appear.
async function clickMedia(p, id) {
   const m = (await mediaOf(p)).find((o) => o.id === id);
   for (const [dz, yaw] of [[2, 0], [-2, Math.PI]]) {
      await b.stand(p, m.at.x, m.at.z + dz, yaw);
      await p.page.bringToFront();
      const point = await p.page.evaluate(async (id) => {
         await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
         const scene = document.querySelector('a-scene');
         const v = new THREE.Vector3();
         NAF.entities.getEntity(id).object3D.getWorldPosition(v);
         v.project(scene.camera);
         const box = scene.canvas.getBoundingClientRect();
         return { x: box.left + ((v.x + 1) / 2) * box.width, y: box.top + ((1 - v.y) / 2) * box.height };
      }, id);
      await p.page.mouse.move(point.x, point.y);
      await p.page.waitForTimeout(300); // a few frames: the cursor's raycaster finds it
      await p.page.mouse.down();
      await p.page.mouse.up();
      const shown = await p.page.waitForFunction((id) => {
         const tools = document.querySelector('#object-tools');
         return tools && !tools.hidden && tools.dataset.networkId === id;
      }, id, { timeout: 5000 }).then(() => true, () => false);
      if (shown) return;
   }
   throw new Error(`${p.name} could not click ${id}`);
}

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const carol = await b.person(browser, base, 'Carol');
   const small = await pngIn(alice, 320, 200, false);
   const links = await linkServer(Buffer.from(await pngIn(alice, 160, 120, false), 'base64'));
   const linkBase = `http://127.0.0.1:${links.address().port}`;
   try {
      const sid = await b.createRoom(alice, base, 'Pictures');
      const aliceId = await b.sessionId(alice);
      await b.joinFromLobby(bob, base, sid);
      const bobId = await b.sessionId(bob);
      await b.joinFromLobby(carol, base, sid);
      await b.waitForAvatar(alice, bobId);

      step('Alice drops a PNG');
      // Alice drops a PNG made in the page onto the room.
      await alice.page.evaluate((data) => {
         const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
         const transfer = new DataTransfer();
         transfer.items.add(new File([bytes], 'red.png', { type: 'image/png' }));
         const room = document.querySelector('.room');
         room.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
         room.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }, small);
      const dropped = await waitForMedia(alice, null);
      r.aliceDropped = dropped;
      // Bob loads it from the server with its access token.
      r.bobSees = await waitForMedia(bob, dropped.id);

      step('Carol, a member without');
      // Carol, a member without spawn_and_move_media, may not share an image...
      await carol.page.bringToFront();
      r.carolShareRefusal = await refusalAfter(carol, () => carol.page.setInputFiles('#image-file', {
         name: 'mine.png', mimeType: 'image/png', buffer: Buffer.from(small, 'base64'),
      }));
      // ... nor take Alice's: the server refuses the take, and it stays Alice's.
      await waitForMedia(carol, dropped.id);
      await clickMedia(carol, dropped.id);
      r.carolMoveRefusal = await refusalAfter(carol, () => carol.page.click('#media-grab'));
      await carol.page.waitForTimeout(500);
      r.carolSeesOwnerAfterRefusal = (await mediaOf(carol)).find((m) => m.id === dropped.id).owner;
      r.carolGrabLabel = await carol.page.locator('#media-grab').innerText();
      await carol.page.click('#leave');
      await carol.context.close(); // (three rendering pages are slow on a small machine)

      step('Alice lets members move');
      // Alice lets members move media (the HTTP API, with her creator token).
      const token = await alice.page.evaluate((sid) => localStorage.getItem(`hubsd.creator.${sid}`), sid);
      const patched = await alice.page.evaluate(async ([sid, token]) => {
         const answer = await fetch(`/api/v1/hubs/${sid}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ hub: { member_permissions: { spawn_and_move_media: true, pin_objects: true, voice_chat: true, text_chat: true } } }),
         });
         return answer.status;
      }, [sid, token]);
      r.patchStatus = patched;
      await bob.page.waitForFunction(() => document.querySelector('#media-pin') !== null
         && window.hubsdDebug.media.session.permissions.spawn_and_move_media === true
         && window.hubsdDebug.media.session.permissions.pin_objects === true, null, { timeout: 15000 });

      step('Bob takes it and carries');
      // Bob takes it and carries it a metre to his right; Alice sees it there, his.
      await clickMedia(bob, dropped.id);
      await bob.page.click('#media-grab');
      await bob.page.waitForFunction(() => document.querySelector('#media-grab').textContent === 'Put down');
      r.bobWalk = await b.walk(bob, 'KeyD', 1);
      await bob.page.click('#media-grab');
      const moved = (await mediaOf(bob)).find((m) => m.id === dropped.id);
      r.bobMoved = moved;
      await alice.page.waitForFunction(([template, id, at, owner]) => {
         const el = NAF.entities.getEntity(id);
         if (!el) return false;
         const p = el.object3D.position;
         return el.components.networked.data.owner === owner
            && Math.abs(p.x - at.x) < 0.05 && Math.abs(p.z - at.z) < 0.05;
      }, [TEMPLATE, dropped.id, moved.at, bobId], { timeout: 15000 });
      r.aliceSeesMoved = (await mediaOf(alice)).find((m) => m.id === dropped.id);

      step('Bob may not pin it first');
      // Bob may pin, but not keep Alice's upload for good: only her browser
      // holds its promotion token. Nothing is pinned.
      await clickMedia(bob, dropped.id);
      r.bobPinRefused = await refusalAfter(bob, () => bob.page.click('#media-pin'));
      r.bobPinButtonAfter = await bob.page.evaluate(() => document.querySelector('#media-pin').textContent);
      await bob.page.click('#media-close');

      step('Alice pins it');
      // Alice pins it (her upload's promotion token keeps the file).
      await clickMedia(alice, dropped.id);
      await alice.page.click('#media-pin');
      await alice.page.waitForFunction(() => document.querySelector('#media-pin').textContent === 'Unpin', null, { timeout: 15000 });
      await bob.page.waitForFunction((id) => window.hubsdDebug.media.pinned.has(id), dropped.id, { timeout: 15000 });

      step('Bob reloads');
      // Bob reloads: the image is still there, where he put it.
      await bob.page.reload();
      await bob.page.click('#enter-room');
      await bob.page.waitForSelector('#chat-input', { timeout: 30000 });
      r.bobAfterReload = await waitForMedia(bob, dropped.id);
      r.bobIdAfterReload = await b.sessionId(bob);

      step('Everyone leaves');
      // Everyone leaves; Dave comes to the empty room later: the pin brings it back.
      for (const p of [alice, bob]) await p.page.click('#leave');
      await bob.context.close();
      const dave = await b.person(browser, base, 'Dave');
      await b.joinFromLobby(dave, base, sid);
      r.daveSees = await waitForMedia(dave, dropped.id);
      r.davePinned = await dave.page.evaluate((id) => window.hubsdDebug.media.pinned.has(id), dropped.id);

      step('Alice comes back');
      // Alice comes back; a link typed into the field shows the page's picture.
      await b.joinFromLobby(alice, base, sid);
      await waitForMedia(alice, dropped.id);
      await alice.page.fill('#link-input', `${linkBase}/page.html`);
      await alice.page.click('#link-add');
      const linked = await waitForMedia(alice, null, [dropped.id]);
      r.aliceLink = linked;
      r.daveSeesLink = await waitForMedia(dave, linked.id);
      step('Ctrl+V of an image');
      // Ctrl+V of an image link on the page.
      await alice.page.evaluate((url) => {
         const transfer = new DataTransfer();
         transfer.setData('text/plain', url);
         document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      }, `${linkBase}/pic.png`);
      r.alicePasted = await waitForMedia(alice, null, [dropped.id, linked.id]);
      step('A page with nothing');
      // A page with nothing to show, and a link the server cannot reach.
      r.bareLink = await refusalAfter(alice, async () => {
         await alice.page.fill('#link-input', `${linkBase}/bare.html`);
         await alice.page.click('#link-add');
      });
      r.missingLink = await refusalAfter(alice, async () => {
         await alice.page.fill('#link-input', `${linkBase}/gone.png`);
         await alice.page.click('#link-add');
      });

      step('An oversized upload');
      // An oversized upload and one that is no image, in words.
      const big = Buffer.from(await pngIn(alice, 300, 300, true), 'base64');
      r.bigBytes = big.length;
      r.tooLarge = await refusalAfter(alice, () => alice.page.setInputFiles('#image-file', {
         name: 'big.png', mimeType: 'image/png', buffer: big,
      }));
      r.notAnImage = await refusalAfter(alice, () => alice.page.setInputFiles('#image-file', {
         name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('just some text, not a picture\n'.repeat(4)),
      }));

      step('Alice unpins it');
      // Alice unpins it: it leaves her page and Dave's.
      await clickMedia(alice, dropped.id);
      await alice.page.click('#media-pin');
      for (const p of [alice, dave]) {
         await p.page.waitForFunction((id) => !NAF.entities.hasEntity(id), dropped.id, { timeout: 15000 });
      }
      r.daveMediaAfterUnpin = (await mediaOf(dave)).map((m) => m.id);
      r.ids = { aliceId, bobId, dropped: dropped.id, linked: linked.id };
      r.problems = [alice, bob, carol, dave].flatMap((p) => p.problems);
      return r;
   } finally {
      links.close();
   }
});
