// Voice through the SFU: two people in one room each hear the other
// (inbound audio with bytes and a level in getStats), see the other's
// speaking indicator, and the mute button stops what the other hears.
'use strict';

const b = require('./browser');

// This page's inbound audio as getStats reports it, over its subscriber peer connections.
function inboundAudio(p) {
   return p.page.evaluate(async () => {
      const voice = window.hubsdDebug && window.hubsdDebug.voice;
      if (!voice) return [];
      const found = [];
      for (const pc of voice.peerConnections()) {
         (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') {
               found.push({ bytesReceived: s.bytesReceived || 0, audioLevel: s.audioLevel || 0 });
            }
         });
      }
      return found;
   });
}

async function waitForHearing(p, timeout = 30000) {
   const until = Date.now() + timeout;
   let last = [];
   while (Date.now() < until) {
      last = await inboundAudio(p);
      if (last.some((s) => s.bytesReceived > 0 && s.audioLevel > 0)) return last;
      await p.page.waitForTimeout(250);
   }
   throw new Error(`${p.name} hears nothing: ${JSON.stringify(last)}`);
}

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

   r.aliceHears = await waitForHearing(alice);
   r.bobHears = await waitForHearing(bob);
   r.aliceSeesBobSpeaking = await speakingIndicator(alice, bobId);
   r.bobSeesAliceSpeaking = await speakingIndicator(bob, aliceId);
   r.muteButton = await alice.page.locator('#mute').innerText();

   // Alice mutes: Bob's inbound bytes from her stop growing (a disabled
   // track sends silence frames or nothing, so her level drops to 0) and
   // her indicator goes out.
   await alice.page.click('#mute');
   r.muteButtonAfter = await alice.page.locator('#mute').innerText();
   await bob.page.waitForSelector(`#people li[data-session-id="${aliceId}"]:not(.speaking)`, { timeout: 20000 });
   await bob.page.waitForFunction(async () => {
      let level = 1;
      for (const pc of window.hubsdDebug.voice.peerConnections()) {
         (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') level = s.audioLevel || 0;
         });
      }
      return level === 0;
   }, null, { timeout: 20000, polling: 500 });
   r.bobHearsAliceMuted = true;

   // Bob leaves: Alice's subscription to him ends.
   await bob.page.click('#leave');
   await alice.page.waitForFunction(() => window.hubsdDebug.voice.peerConnections().length === 1, null, { timeout: 20000 });
   r.alicePeersAfterBobLeft = await alice.page.evaluate(() => window.hubsdDebug.voice.peerConnections().length);
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
