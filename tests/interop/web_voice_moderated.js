// A moderator's mute and the muted member's unmute, as both pages hear it:
// Alice (the owner) mutes Bob from her people list; the SFU stops his audio,
// so his level at Alice falls to 0, and Bob's page says who muted him. Bob
// clicks "Unmute" (which asks hubsd.room.unmute first) and Alice hears him again.
'use strict';

const b = require('./browser');

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const sid = await b.createRoom(alice, base, 'Moderated voices');
   const aliceId = await b.sessionId(alice);
   await b.joinFromLobby(bob, base, sid);
   const bobId = await b.sessionId(bob);
   Object.assign(r, { sid, aliceId, bobId });
   r.aliceHearsBob = await b.waitForHearing(alice, bobId);
   await b.waitForHearing(bob, aliceId);

   // Bob's own button says his microphone is on; Alice mutes him.
   r.bobButtonBefore = await bob.page.locator('#mute').innerText();
   r.bobNotice = await b.muteFromPeople(alice, bob, bobId);
   r.bobButtonMuted = await bob.page.locator('#mute').innerText();
   r.aliceHearsBobMuted = await b.waitForSilence(alice, bobId);
   // Bob still hears Alice: the mute is his microphone only.
   r.bobStillHearsAlice = await b.waitForHearing(bob, aliceId);

   // Bob unmutes himself: the server lifts the mute and Alice hears him again.
   r.bobButtonAfter = await b.unmuteSelf(bob);
   r.bobErrors = await bob.page.locator('#notices .notice.error').allInnerTexts();
   r.aliceHearsBobAgain = await b.waitForHearing(alice, bobId, 20000);
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
