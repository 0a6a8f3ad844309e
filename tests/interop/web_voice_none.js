// Voice degrades in words: a server with `[sfu] backend = none`, and a
// page whose browser has no microphone (getUserMedia refused).
'use strict';

const b = require('./browser');

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   await b.createRoom(alice, base, 'Quiet');
   await alice.page.waitForFunction(() => document.querySelector('#voice-state').textContent !== '', null, { timeout: 20000 });
   r.voiceState = await alice.page.locator('#voice-state').innerText();
   r.muteHidden = await alice.page.locator('#mute').isHidden();
   r.peers = await alice.page.evaluate(() => window.hubsdDebug.voice.peerConnections().length);
   r.problems = [...alice.problems];
   return r;
});
