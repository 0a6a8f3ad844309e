// A moderator's mute and the muted member's unmute, as both pages hear it:
// Alice (the owner) mutes Bob from her people list; the SFU stops his audio,
// so his level at Alice falls to 0, and Bob's page says who muted him. Bob
// clicks "Unmute" (which asks hubsd.room.unmute first) and Alice hears him again.
'use strict';

const b = require('./browser');

const quiet = (from) => (entries) => entries.some((s) => s.from === from && s.audioLevel === 0);

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
   await alice.page.click(`#people li[data-session-id="${bobId}"] button[data-action="mute"]`);
   const notice = bob.page.locator('#notices .notice.info', { hasText: 'muted your microphone' });
   await notice.first().waitFor({ timeout: 15000 });
   r.bobNotice = await notice.first().innerText();
   r.bobButtonMuted = await bob.page.locator('#mute').innerText();
   r.aliceHearsBobMuted = await b.waitForInbound(alice, quiet(bobId), "Bob's level at Alice falling to 0", 20000);
   // Bob still hears Alice: the mute is his microphone only.
   r.bobStillHearsAlice = await b.waitForHearing(bob, aliceId);

   // Bob unmutes himself: the server lifts the mute and Alice hears him again.
   await bob.page.click('#mute');
   await bob.page.waitForFunction(() => document.querySelector('#mute').textContent === 'Mute', null, { timeout: 15000 });
   r.bobButtonAfter = await bob.page.locator('#mute').innerText();
   r.bobErrors = await bob.page.locator('#notices .notice.error').allInnerTexts();
   r.aliceHearsBobAgain = await b.waitForHearing(alice, bobId, 20000);
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
