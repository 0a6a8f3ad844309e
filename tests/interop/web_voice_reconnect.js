// Voice across a reconnect: Bob's WAMP connection drops; after "Reconnected."
// his page joins the media again (new handles), and each hears the other
// again over the new subscriptions.
'use strict';

const b = require('./browser');

const handles = (entries, from) => entries.filter((s) => s.from === from).map((s) => s.handle);

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const links = await b.droppable(bob);
   const sid = await b.createRoom(alice, base, 'Voices that come back');
   const aliceId = await b.sessionId(alice);
   await b.joinFromLobby(bob, base, sid);
   const bobId = await b.sessionId(bob);
   Object.assign(r, { sid, aliceId, bobId });
   r.aliceHandlesBefore = handles(await b.waitForHearing(alice, bobId), bobId);
   r.bobHandlesBefore = handles(await b.waitForHearing(bob, aliceId), aliceId);

   await b.drop(links);
   r.bobStatus = await b.reconnected(bob);
   r.bobIdAfter = await b.sessionId(bob);
   r.links = links.length;

   // Heard again, each over a subscription made after the reconnect.
   const fresh = (from, old) => (entries) => entries.some((s) => s.from === from && !old.includes(s.handle)
      && s.bytesReceived > 0 && s.audioLevel > 0);
   const aliceAfter = await b.waitForInbound(alice, fresh(bobId, r.aliceHandlesBefore), 'Alice hearing Bob again', 30000);
   const bobAfter = await b.waitForInbound(bob, fresh(aliceId, r.bobHandlesBefore), 'Bob hearing Alice again', 30000);
   r.aliceHandlesAfter = handles(aliceAfter, bobId);
   r.bobHandlesAfter = handles(bobAfter, aliceId);
   r.alicePeers = await alice.page.evaluate(() => window.hubsdDebug.voice.peerConnections().length);
   r.bobPeers = await bob.page.evaluate(() => window.hubsdDebug.voice.peerConnections().length);
   r.bobVoiceState = await bob.page.locator('#voice-state').innerText();
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
