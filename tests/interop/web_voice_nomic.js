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
   r.bobHearsAlice = await bob.page.waitForFunction(async () => {
      for (const pc of window.hubsdDebug.voice.peerConnections()) {
         let ok = false;
         (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.bytesReceived > 0 && s.audioLevel > 0) ok = true;
         });
         if (ok) return true;
      }
      return false;
   }, null, { timeout: 30000, polling: 250 }).then(() => true);
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
