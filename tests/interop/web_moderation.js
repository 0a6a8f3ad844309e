// What the room's rules refuse, as the person sees it: a spawn without the
// permission, moderation buttons only for those allowed, a kick.
'use strict';

const b = require('./browser');

const boxes = (p) => p.page.evaluate(() => [...document.querySelectorAll('[networked]')]
   .filter((el) => el.components.networked && el.components.networked.data.template === '#hubsd-box-media')
   .map((el) => el.components.networked.data.owner));

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const sid = await b.createRoom(alice, base, 'Rules');
   const aliceId = await b.sessionId(alice);
   await b.joinFromLobby(bob, base, sid);
   const bobId = await b.sessionId(bob);
   await b.waitForAvatar(alice, bobId);
   await b.waitForAvatar(bob, aliceId);

   // Members may not spawn media by default: Bob's box is refused, in words.
   await bob.page.click('#place-box');
   const refusal = bob.page.locator('#notices .notice.error');
   await refusal.first().waitFor({ timeout: 15000 });
   r.bobRefusal = await refusal.first().innerText();
   await bob.page.waitForFunction(() => ![...document.querySelectorAll('[networked]')]
      .some((el) => el.components.networked && el.components.networked.data.template === '#hubsd-box-media'),
      null, { timeout: 10000 });
   r.bobBoxesAfterRefusal = await boxes(bob);

   // The owner may: Bob sees Alice's box.
   await alice.page.click('#place-box');
   await bob.page.waitForFunction(() => [...document.querySelectorAll('[networked]')]
      .some((el) => el.components.networked && el.components.networked.data.template === '#hubsd-box-media'),
      null, { timeout: 15000 });
   r.bobSeesBoxesOf = await boxes(bob);
   r.aliceBoxesSeenByAlice = await boxes(alice);
   r.aliceErrors = await alice.page.locator('#notices .notice.error').allInnerTexts();

   // Who may do what, as buttons.
   r.aliceButtonsForBob = await alice.page.locator(`#people li[data-session-id="${bobId}"] button`).allInnerTexts();
   r.bobButtonsForAlice = await bob.page.locator(`#people li[data-session-id="${aliceId}"] button`).allInnerTexts();
   r.bobCanClose = await bob.page.locator('#close-room').isVisible();
   r.aliceCanClose = await alice.page.locator('#close-room').isVisible();

   // Alice kicks Bob: his page says so and the room is gone from it.
   await alice.page.click(`#people li[data-session-id="${bobId}"] button[data-action="kick"]`);
   await bob.page.locator('#overlay').waitFor({ state: 'visible', timeout: 15000 });
   r.bobOverlay = await bob.page.locator('#overlay-text').innerText();
   await alice.page.waitForFunction((id) => !document.querySelector(`#people li[data-session-id="${id}"]`), bobId, { timeout: 15000 });
   r.alicePeopleAfterKick = await alice.page.locator('#people li .who').allInnerTexts();
   await alice.page.waitForFunction((id) => ![...document.querySelectorAll('[networked]')]
      .some((el) => el.components.networked && el.components.networked.data.owner === id), bobId, { timeout: 15000 });
   r.aliceSeesBobAfterKick = await b.avatarOf(alice, bobId);

   // Back in the lobby in the same tab, Bob is the same member: still kicked.
   await bob.page.goto(base + '/');
   await bob.page.fill('#display-name', 'Bob');
   await bob.page.locator(`.room-item[data-sid="${sid}"] button.join`).click();
   await bob.page.locator('#enter-error').waitFor({ timeout: 15000 });
   r.bobRejoin = await bob.page.locator('#enter-error').innerText();
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
