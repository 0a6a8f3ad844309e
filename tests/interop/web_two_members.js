// Two people in one room: each sees the other's avatar and its moves, chat
// goes both ways; figures (join-to-avatar time, frame rate) and a screenshot.
'use strict';

const path = require('path');
const b = require('./browser');

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const sid = await b.createRoom(alice, base, 'Two of us');
   const aliceId = await b.sessionId(alice);

   const clicked = await b.joinFromLobby(bob, base, sid);
   await b.waitForAvatar(bob, aliceId);
   const joinToAvatarMs = Date.now() - clicked;
   const bobId = await b.sessionId(bob);
   await b.waitForAvatar(alice, bobId);

   Object.assign(r, { sid, aliceId, bobId, joinToAvatarMs });
   r.bobSeesAlice = await b.avatarOf(bob, aliceId);
   r.aliceSeesBob = await b.avatarOf(alice, bobId);

   // Alice walks forward (-z): Bob's view of her follows.
   const before = r.bobSeesAlice;
   r.aliceWalk = await b.walk(alice, 'KeyW');
   await b.waitForAvatarWhere(bob, aliceId, { axis: 'z', below: before.z - 0.3 });
   r.aliceMoved = { before, after: await b.avatarOf(bob, aliceId) };
   r.aliceOwn = await alice.page.evaluate(() => {
      const { x, y, z } = document.querySelector('#me').object3D.position;
      return { x, y, z };
   });
   // Bob strafes left (-x): Alice sees it.
   const bobBefore = await b.avatarOf(alice, bobId);
   r.bobWalk = await b.walk(bob, 'KeyA');
   await b.waitForAvatarWhere(alice, bobId, { axis: 'x', below: bobBefore.x - 0.3 });
   r.bobMoved = { before: bobBefore, after: await b.avatarOf(alice, bobId) };

   // Chat both ways.
   await b.say(alice, bob, 'hello Bob');
   await b.say(bob, alice, 'hi Alice', { enter: true });
   ({ chat: r.aliceChat, people: r.alicePeople } = await b.chatAndPeople(alice));
   ({ chat: r.bobChat, people: r.bobPeople } = await b.chatAndPeople(bob));

   r.fps = await b.framesPerSecond(alice, 3000);

   // The picture: Carol comes in and looks at Alice and Bob, who face her.
   const carol = await b.person(browser, base, 'Carol', { width: 900, height: 560 });
   await b.joinFromLobby(carol, base, sid);
   await b.waitForAvatar(carol, aliceId);
   await b.waitForAvatar(carol, bobId);
   await b.stand(carol, 0, 4.2, 0);
   await b.stand(alice, -0.75, 1.6, Math.PI + 0.35);
   await b.stand(bob, 0.75, 1.6, Math.PI - 0.35);
   await b.waitForAvatarWhere(carol, aliceId, { x: -0.75, z: 1.6 });
   await b.waitForAvatarWhere(carol, bobId, { x: 0.75, z: 1.6 });
   await carol.page.waitForTimeout(500);
   r.screenshot = path.join(out, 'room-two-avatars.png');
   await carol.page.screenshot({ path: r.screenshot });
   r.carolPeople = await carol.page.locator('#people li .who').allInnerTexts();
   r.problems = [...alice.problems, ...bob.problems, ...carol.problems];
   return r;
});
