// The server's refusals and a lost connection, as the person reads them.
'use strict';

const b = require('./browser');

async function joinError(p, base, sid) {
   await p.page.goto(base + '/');
   await p.page.fill('#display-name', p.name);
   await p.page.locator(`.room-item[data-sid="${sid}"] button.join`).click();
   const error = p.page.locator('#enter-error');
   await error.waitFor({ timeout: 15000 });
   return error.innerText();
}

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');

   // A room of one seat, taken by its creator.
   const small = await b.createRoom(alice, base, 'Just me', { seats: 1 });
   r.full = await joinError(bob, base, small);

   // An invite-only room, listed in the lobby.
   const secret = await b.createRoom(alice, base, 'Invite only', { entryMode: 'invite' });
   r.inviteOnly = await joinError(bob, base, secret);
   r.inviteButton = await alice.page.locator('#invite').isVisible();

   // A room closed while Bob looks at the lobby.
   const doomed = await b.createRoom(alice, base, 'Closing soon');
   await bob.page.goto(base + '/');
   await bob.page.fill('#display-name', 'Bob');
   const join = bob.page.locator(`.room-item[data-sid="${doomed}"] button.join`);
   await join.waitFor({ timeout: 15000 });
   alice.page.once('dialog', (dialog) => dialog.accept());
   await alice.page.click('#close-room');
   await alice.page.locator('#overlay').waitFor({ state: 'visible', timeout: 15000 });
   r.closedForOwner = await alice.page.locator('#overlay-text').innerText();
   await join.click();
   await bob.page.locator('#enter-error').waitFor({ timeout: 15000 });
   r.closed = await bob.page.locator('#enter-error').innerText();

   // The server unreachable: every websocket refused.
   const carol = await b.person(browser, base, 'Carol');
   await carol.page.routeWebSocket(/\/ws$/, (ws) => ws.close({ code: 1011, reason: 'test: unreachable' }));
   await carol.page.goto(base + '/');
   await carol.page.locator('#lobby-error').waitFor({ timeout: 15000 });
   r.unreachable = await carol.page.locator('#lobby-error').innerText();

   // A dropped connection: Dave reconnects as the same member.
   const room = await b.createRoom(alice, base, 'Steady');
   const aliceId = await b.sessionId(alice);
   const dave = await b.person(browser, base, 'Dave');
   const sockets = await b.droppable(dave);
   await b.joinFromLobby(dave, base, room);
   const daveId = await b.sessionId(dave);
   await b.waitForAvatar(alice, daveId);
   await b.waitForAvatar(dave, aliceId);
   await b.drop(sockets);
   const status = dave.page.locator('#status');
   await dave.page.waitForFunction(() => /Reconnecting in/.test(document.querySelector('#status').textContent), null, { timeout: 15000 });
   r.reconnecting = await status.innerText();
   await dave.page.waitForFunction(() => /Reconnected/.test(document.querySelector('#status').textContent), null, { timeout: 30000 });
   r.reconnected = await status.innerText();
   r.socketsOpened = sockets.length;
   r.daveIdAfter = await b.sessionId(dave);
   r.daveId = daveId;
   await dave.page.fill('#chat-input', 'back again');
   await dave.page.press('#chat-input', 'Enter');
   await alice.page.waitForSelector('#chat-messages li:has-text("back again")', { timeout: 10000 });
   r.aliceChat = await alice.page.locator('#chat-messages li').allInnerTexts();
   r.alicePeople = await alice.page.locator('#people li .who').allInnerTexts();
   // Dave leaves the page and comes back from the lobby in the same tab:
   // the same member again, his seat kept.
   r.daveReturnClicked = await b.joinFromLobby(dave, base, room);
   r.daveIdAfterReturn = await b.sessionId(dave);
   r.alicePeopleAfterReturn = await alice.page.locator('#people li .who').allInnerTexts();
   r.problems = [...alice.problems, ...bob.problems, ...carol.problems, ...dave.problems];
   return r;
});
