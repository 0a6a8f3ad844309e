// A Hubs-style client in Chromium: the npm phoenix client (the protocol the
// Hubs web client speaks) on a page of the server's origin, voice through
// the hub channel's sfu:* events with the browser's own RTCPeerConnection
// and trickled candidates, no WAMP anywhere. Two such people hear each
// other; get_host says why there is no SFU host; leaving the hub channel
// ends a member's media and the other is told.
'use strict';

const b = require('./browser');

const PHOENIX = require.resolve('phoenix/priv/static/phoenix.js');

// What runs in each page: a small media adapter over the hub channel, as a
// Hubs-style client would have in place of naf-janus-adapter.
function adapter() {
   const reply = (push) => new Promise((resolve) => {
      push.receive('ok', (response) => resolve({ status: 'ok', response }))
         .receive('error', (response) => resolve({ status: 'error', response }))
         .receive('timeout', () => resolve({ status: 'timeout' }));
   });

   window.voice = {
      pcs: {},
      pushes: [],
      trickles: [],
      request(event, payload) {
         return reply(this.channel.push(event, payload, 30000));
      },
      // Send the candidates of `pc` once its handle is known; null at the end.
      trickle(pc) {
         const waiting = [];
         let handle = null;
         const send = (candidate) => this.request('sfu:trickle', { handle_id: handle, candidate })
            .then((r) => this.trickles.push(r.status === 'ok' ? 'ok' : JSON.stringify(r)));
         pc.onicecandidate = (e) => {
            const c = e.candidate ? e.candidate.toJSON() : null;
            if (handle === null) waiting.push(c); else send(c);
         };
         return (id) => {
            handle = id;
            waiting.splice(0).forEach(send);
         };
      },
      async start(sid, name) {
         this.socket = new Phoenix.Socket('/socket', { params: {} });
         this.socket.connect();
         const ch = this.channel = this.socket.channel(`hub:${sid}`, {
            profile: { displayName: name, avatarId: 'a' }, context: { mobile: false },
         });
         for (const ev of ['sfu:publisher', 'sfu:unpublished', 'sfu:connected', 'sfu:closed']) {
            ch.on(ev, (payload) => {
               this.pushes.push([ev, payload]);
               if (ev === 'sfu:publisher') this.listen(payload.session_id);
               if (ev === 'sfu:unpublished' && this.pcs[payload.session_id]) {
                  this.pcs[payload.session_id].close();
                  delete this.pcs[payload.session_id];
               }
            });
         }
         const joined = await reply(ch.join());
         if (joined.status !== 'ok') throw new Error(`hub join: ${JSON.stringify(joined)}`);
         this.sessionId = joined.response.session_id;
         const media = await this.request('sfu:join', { perms_token: joined.response.perms_token });
         if (media.status !== 'ok') throw new Error(`sfu:join: ${JSON.stringify(media)}`);
         const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
         const pc = this.publisher = new RTCPeerConnection();
         stream.getTracks().forEach((t) => pc.addTrack(t, stream));
         const handleKnown = this.trickle(pc);
         await pc.setLocalDescription(await pc.createOffer());
         const pub = await this.request('sfu:publish', { sdp: pc.localDescription.sdp });
         if (pub.status !== 'ok') throw new Error(`sfu:publish: ${JSON.stringify(pub)}`);
         handleKnown(pub.response.handle_id);
         await pc.setRemoteDescription({ type: 'answer', sdp: pub.response.sdp });
         for (const p of media.response.publishers) this.listen(p.session_id);
         return this.sessionId;
      },
      async listen(sessionId) {
         const sub = await this.request('sfu:subscribe', { session_id: sessionId });
         if (sub.status !== 'ok') {
            this.pushes.push(['subscribe refused', sub]);
            return;
         }
         const pc = this.pcs[sessionId] = new RTCPeerConnection();
         pc.ontrack = (e) => {
            // Played, as a client would (an unplayed remote track still counts in getStats).
            const audio = new Audio();
            audio.srcObject = e.streams[0] || new MediaStream([e.track]);
            audio.play().catch(() => {});
         };
         const handleKnown = this.trickle(pc);
         await pc.setRemoteDescription({ type: 'offer', sdp: sub.response.sdp });
         await pc.setLocalDescription(await pc.createAnswer());
         const answered = await this.request('sfu:answer', {
            handle_id: sub.response.handle_id, sdp: pc.localDescription.sdp,
         });
         if (answered.status !== 'ok') this.pushes.push(['answer refused', answered]);
         handleKnown(sub.response.handle_id);
      },
      async hears() {
         const found = [];
         for (const pc of Object.values(this.pcs)) {
            (await pc.getStats()).forEach((s) => {
               if (s.type === 'inbound-rtp' && s.kind === 'audio') {
                  found.push({ bytesReceived: s.bytesReceived || 0, audioLevel: s.audioLevel || 0 });
               }
            });
         }
         return found;
      },
   };
}

async function hubsStylePage(browser, base, name) {
   const p = await b.person(browser, base, name);
   await p.page.goto(base + '/healthz');
   await p.page.addScriptTag({ path: PHOENIX });
   await p.page.addScriptTag({ content: `(${adapter.toString()})();` });
   return p;
}

async function waitForHearing(p, timeout = 30000) {
   const until = Date.now() + timeout;
   let last = [];
   while (Date.now() < until) {
      last = await p.page.evaluate(() => window.voice.hears());
      if (last.some((s) => s.bytesReceived > 0 && s.audioLevel > 0)) return last;
      await p.page.waitForTimeout(250);
   }
   throw new Error(`${p.name} hears nothing: ${JSON.stringify(last)}`);
}

b.main(async (browser, base, out, r) => {
   const created = await (await fetch(base + '/api/v1/hubs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hub: { name: 'Hubs-style voices' } }),
   })).json();
   const sid = created.hub_id;
   const alice = await hubsStylePage(browser, base, 'Alice');
   const bob = await hubsStylePage(browser, base, 'Bob');
   r.aliceId = await alice.page.evaluate((s) => window.voice.start(s, 'Alice'), sid);
   r.bobId = await bob.page.evaluate((s) => window.voice.start(s, 'Bob'), sid);

   r.aliceHears = await waitForHearing(alice);
   r.bobHears = await waitForHearing(bob);
   r.getHost = await alice.page.evaluate(() => window.voice.request('get_host', {}));

   // Bob leaves the hub channel: his media ends, Alice is told and closes
   // her peer connection to him.
   await bob.page.evaluate(() => new Promise((resolve) => window.voice.channel.leave().receive('ok', resolve)));
   await alice.page.waitForFunction(() => Object.keys(window.voice.pcs).length === 0, null, { timeout: 20000 });
   const state = (p) => p.page.evaluate(() => ({
      pushes: window.voice.pushes, trickles: window.voice.trickles,
   }));
   r.alice = await state(alice);
   r.bob = await state(bob);
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
