// Two transports in one room: Alice's page on WAMP (the default), Bob's on
// the Phoenix gateway (?transport=phoenix). They see each other's avatars
// move and chat both ways; they hear each other through the SFU (Bob's page
// over the hub channel's sfu:* events); Alice mutes Bob and his own Unmute
// lifts it; a dropped Phoenix socket comes back as the same member, voice
// and all; Alice kicks Bob and his page names her; back at the door he is
// refused in the same words as over WAMP.
// An unknown ?transport= is refused in words.
'use strict';

const b = require('./browser');

const PHOENIX = /\/socket\/websocket\?vsn=2\.0\.0/;

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   const sockets = { alice: [], bob: [] };
   alice.page.on('websocket', (ws) => sockets.alice.push(new URL(ws.url()).pathname));
   bob.page.on('websocket', (ws) => sockets.bob.push(new URL(ws.url()).pathname));
   const bobLinks = await b.droppable(bob, PHOENIX);

   // A transport the page does not know is said, not guessed.
   await bob.page.goto(base + '/?transport=carrier-pigeon');
   r.unknownTransport = await bob.page.locator('#lobby-error').innerText();

   const sid = await b.createRoom(alice, base, 'Two transports');
   const aliceId = await b.sessionId(alice);
   await b.joinFromLobby(bob, base, sid, '?transport=phoenix');
   const bobId = await b.sessionId(bob);
   await b.waitForAvatar(bob, aliceId);
   await b.waitForAvatar(alice, bobId);
   Object.assign(r, { sid, aliceId, bobId });
   r.bobUrl = await bob.page.evaluate(() => location.pathname + location.search);
   r.bobSeesAlice = await b.avatarOf(bob, aliceId);
   r.aliceSeesBob = await b.avatarOf(alice, bobId);

   // Alice (WAMP) walks forward: Bob (Phoenix) sees her go; and the other way.
   const before = r.bobSeesAlice;
   await b.walk(alice, 'KeyW');
   await b.waitForAvatarWhere(bob, aliceId, { axis: 'z', below: before.z - 0.3 });
   r.aliceMoved = { before, after: await b.avatarOf(bob, aliceId) };
   const bobBefore = await b.avatarOf(alice, bobId);
   await b.walk(bob, 'KeyA');
   await b.waitForAvatarWhere(alice, bobId, { axis: 'x', below: bobBefore.x - 0.3 });
   r.bobMoved = { before: bobBefore, after: await b.avatarOf(alice, bobId) };

   // Chat both ways.
   await b.say(alice, bob, 'hello Bob');
   await b.say(bob, alice, 'hi Alice', { enter: true });
   r.bobChatInputAfterSend = await bob.page.inputValue('#chat-input');
   ({ chat: r.aliceChat, people: r.alicePeople } = await b.chatAndPeople(alice));
   ({ chat: r.bobChat, people: r.bobPeople } = await b.chatAndPeople(bob));

   // Voice across the transports: each hears the other.
   r.aliceHearsBob = await b.waitForHearing(alice, bobId);
   r.bobHearsAlice = await b.waitForHearing(bob, aliceId);
   r.bobVoiceState = await bob.page.locator('#voice-state').innerText();
   r.bobMuteButton = await bob.page.locator('#mute').innerText();
   r.bobPeers = await b.peerConnections(bob);

   // Alice (WAMP, the owner) mutes Bob (Phoenix): she hears him no more
   // until his own Unmute (the hub channel's unmute event) lifts it.
   r.bobMutedNotice = await b.muteFromPeople(alice, bob, bobId);
   r.bobButtonMuted = await bob.page.locator('#mute').innerText();
   r.aliceHearsBobMuted = await b.waitForSilence(alice, bobId);
   r.bobButtonAfter = await b.unmuteSelf(bob);
   r.aliceHearsBobAgain = await b.waitForHearing(alice, bobId);
   r.bobErrorsAfterUnmute = await bob.page.locator('#notices .notice.error').allInnerTexts();

   // Bob's Phoenix socket drops: he comes back as the same member.
   await b.drop(bobLinks);
   r.bobReconnected = await b.reconnected(bob);
   r.bobIdAfter = await b.sessionId(bob);
   r.bobLinks = bobLinks.length;
   await b.say(bob, alice, 'back');
   // His media ended with the socket; his page joined it again.
   r.aliceHearsBobAfterDrop = await b.waitForHearing(alice, bobId);
   r.bobHearsAliceAfterDrop = await b.waitForHearing(bob, aliceId);
   r.bobPeersAfterDrop = await b.peerConnections(bob);
   r.alicePeopleAfterDrop = await alice.page.locator('#people li .who').allInnerTexts();

   // Alice kicks Bob: his page names her.
   r.aliceButtonsForBob = await alice.page.locator(`#people li[data-session-id="${bobId}"] button`).allInnerTexts();
   r.bobButtonsForAlice = await bob.page.locator(`#people li[data-session-id="${aliceId}"] button`).allInnerTexts();
   await alice.page.click(`#people li[data-session-id="${bobId}"] button[data-action="kick"]`);
   await bob.page.locator('#overlay').waitFor({ state: 'visible', timeout: 15000 });
   r.bobOverlay = await bob.page.locator('#overlay-text').innerText();
   await alice.page.waitForFunction((id) => !document.querySelector(`#people li[data-session-id="${id}"]`), bobId, { timeout: 15000 });
   r.alicePeopleAfterKick = await alice.page.locator('#people li .who').allInnerTexts();

   // Back at the lobby (still over Phoenix, same tab: the same member), refused.
   await bob.page.goto(base + '/?transport=phoenix');
   await bob.page.fill('#display-name', 'Bob');
   await bob.page.locator(`.room-item[data-sid="${sid}"] button.join`).click();
   await bob.page.locator('#enter-error').waitFor({ timeout: 15000 });
   r.bobRejoin = await bob.page.locator('#enter-error').innerText();

   r.aliceSockets = [...new Set(sockets.alice)];
   r.bobSockets = [...new Set(sockets.bob)];
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
