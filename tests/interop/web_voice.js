// Voice through the SFU: two people in one room each hear the other
// (inbound audio with bytes and a level in getStats), see the other's
// speaking indicator, and the mute button stops what the other hears.
'use strict';

const b = require('./browser');

function speakingIndicator(p, id, timeout = 20000) {
   return p.page.waitForSelector(`#people li[data-session-id="${id}"].speaking`, { timeout })
      .then(() => true);
}

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const sid = await b.createRoom(alice, base, 'Voices');
   const aliceId = await b.sessionId(alice);
   await b.joinFromLobby(bob, base, sid);
   const bobId = await b.sessionId(bob);
   Object.assign(r, { sid, aliceId, bobId });

   r.aliceHears = await b.waitForHearing(alice);
   r.bobHears = await b.waitForHearing(bob);
   r.aliceSeesBobSpeaking = await speakingIndicator(alice, bobId);
   r.bobSeesAliceSpeaking = await speakingIndicator(bob, aliceId);
   r.muteButton = await alice.page.locator('#mute').innerText();

   // Alice mutes: Bob's inbound bytes from her stop growing (a disabled
   // track sends silence frames or nothing, so her level drops to 0) and
   // her indicator goes out.
   await alice.page.click('#mute');
   r.muteButtonAfter = await alice.page.locator('#mute').innerText();
   await bob.page.waitForSelector(`#people li[data-session-id="${aliceId}"]:not(.speaking)`, { timeout: 20000 });
   await b.waitForInbound(bob, (entries) => entries.length === 1 && entries[0].audioLevel === 0, 'Alice going quiet', 20000);
   r.bobHearsAliceMuted = true;

   // Bob leaves: Alice's subscription to him ends.
   await bob.page.click('#leave');
   await alice.page.waitForFunction(() => window.hubsdDebug.voice.peerConnections().length === 1, null, { timeout: 20000 });
   r.alicePeersAfterBobLeft = await alice.page.evaluate(() => window.hubsdDebug.voice.peerConnections().length);
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
