// A browser without a microphone still hears the room and says why it cannot speak.
'use strict';

const b = require('./browser');

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   const bob = await b.person(browser, base, 'Bob');
   await bob.context.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no device', 'NotFoundError'));
   });
   const sid = await b.createRoom(alice, base, 'Listeners');
   await b.joinFromLobby(bob, base, sid);
   await bob.page.waitForFunction(() => document.querySelector('#voice-state').textContent !== '', null, { timeout: 20000 });
   r.bobVoiceState = await bob.page.locator('#voice-state').innerText();
   r.bobMuteHidden = await bob.page.locator('#mute').isHidden();
   r.bobHearsAlice = (await b.waitForHearing(bob)).length === 1;
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
