// A drop longer than the reconnect grace: the server lets the seat go (the
// others see the member leave), and when the page gets through again it
// enters as a new seat and announces its avatar again.
'use strict';

const b = require('./browser');

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const room = await b.createRoom(alice, base, 'Long drop');
   const aliceId = await b.sessionId(alice);
   const dave = await b.person(browser, base, 'Dave');
   let refusing = false;
   const sockets = [];
   await dave.page.routeWebSocket(/\/ws$/, (ws) => {
      if (refusing) {
         ws.close({ code: 1011, reason: 'test: still down' });
         return;
      }
      sockets.push({ ws, server: ws.connectToServer() });
   });
   await b.joinFromLobby(dave, base, room);
   const daveId = await b.sessionId(dave);
   await b.waitForAvatar(alice, daveId);
   r.daveId = daveId;

   // Down, and staying down until the server has let Dave's seat go.
   refusing = true;
   await b.drop(sockets);
   await alice.page.waitForFunction((id) => !document.querySelector(`#people li[data-session-id="${id}"]`), daveId, { timeout: 30000 });
   r.alicePeopleWhileDown = await alice.page.locator('#people li .who').allInnerTexts();
   await alice.page.waitForFunction((id) => ![...document.querySelectorAll('[networked]')]
      .some((el) => el.components.networked && el.components.networked.data.owner === id), daveId, { timeout: 15000 });
   r.daveStatusWhileDown = await dave.page.locator('#status').innerText();

   // Back up: Dave gets in again and Alice sees his avatar again.
   refusing = false;
   await dave.page.waitForFunction(() => /Reconnected/.test(document.querySelector('#status').textContent), null, { timeout: 60000 });
   const again = await b.sessionId(dave);
   r.daveIdAgain = again;
   const entities = (p) => p.page.evaluate(() => Object.entries(NAF.entities.entities)
      .map(([id, el]) => [id, el.components.networked.data.owner, el.components.networked.data.template]));
   r.daveEntities = await entities(dave);
   await b.waitForAvatar(alice, again, 20000);
   r.aliceSeesDave = await b.avatarOf(alice, again);
   r.alicePeopleAfter = await alice.page.locator('#people li .who').allInnerTexts();
   await b.waitForAvatar(dave, aliceId);
   r.problems = [...alice.problems, ...dave.problems];
   return r;
});
