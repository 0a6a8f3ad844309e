// What a raw websocket gets for bad input: each case on its own socket, the
// server's answer (a reply frame, or the close code and reason) recorded.
'use strict';

const { WS } = require('./phx');

function open(url, opts) {
   return new Promise((resolve) => {
      const ws = new WS(url, opts);
      const got = { frames: [], close: null, status: null };
      ws.on('unexpected-response', (req, res) => {
         got.status = res.statusCode;
         got.statusMessage = res.statusMessage;
         let body = '';
         res.on('data', (c) => (body += c));
         res.on('end', () => {
            got.body = body;
            resolve({ ws, got });
         });
      });
      ws.on('error', () => {});
      ws.on('open', () => resolve({ ws, got }));
      ws.on('message', (m) => got.frames.push(JSON.parse(m.toString())));
      ws.on('close', (code, reason) => (got.close = { code, reason: reason.toString() }));
   });
}

function wait(got, pred, ms = 10000) {
   return new Promise((resolve, reject) => {
      const start = Date.now();
      const tick = () => {
         if (pred(got)) resolve(got);
         else if (Date.now() - start > ms) reject(new Error('timed out: ' + JSON.stringify(got)));
         else setTimeout(tick, 20);
      };
      tick();
   });
}

async function exchange(url, send, pred, opts) {
   const { ws, got } = await open(url, opts);
   if (got.status) return got;
   for (const s of send) ws.send(s);
   await wait(got, pred);
   ws.terminate();
   return got;
}

require('./phx').main(async ({ base, sid, big }) => {
   const url = `${base}/socket/websocket?vsn=2.0.0`;
   const replied = (n) => (g) => g.frames.length >= n || g.close;
   const closed = (g) => g.close;
   const join = (ref, topic, payload) => JSON.stringify([ref, ref, topic, 'phx_join', payload]);
   const hub = { profile: { displayName: 'X' }, context: {} };
   return {
      noVsn: await exchange(`${base}/socket/websocket`, [], closed),
      v1: await exchange(`${base}/socket/websocket?vsn=1.0.0`, [], closed),
      notJson: await exchange(url, ['{nope'], closed),
      notArray: await exchange(url, ['{"topic":"x"}'], closed),
      shortArray: await exchange(url, ['["1","1","x"]'], closed),
      badPayload: await exchange(url, ['["1","1","hub:x","phx_join",[]]'], replied(1)),
      unknownTopic: await exchange(url, [join('1', 'nothing:here', {})], replied(1)),
      notJoined: await exchange(url, [JSON.stringify([null, '2', `hub:${sid}`, 'naf', {}])], replied(1)),
      leaveNotJoined: await exchange(url, [JSON.stringify(['1', '2', `hub:${sid}`, 'phx_leave', {}])], replied(1)),
      noProfile: await exchange(url, [join('1', `hub:${sid}`, {})], replied(1)),
      noRoom: await exchange(url, [join('1', 'hub:nosuchroom', hub)], replied(1)),
      link: await exchange(url, [join('1', 'link:ABCD', {})], replied(1)),
      auth: await exchange(url, [join('1', 'auth:x', {})], replied(1)),
      unknownEvent: await exchange(url, [join('1', `hub:${sid}`, hub), JSON.stringify(['1', '3', `hub:${sid}`, 'frobnicate', {}])], (g) => g.frames.some((f) => f[1] === '3')),
      rejoin: await exchange(url, [join('1', `hub:${sid}`, hub), join('4', `hub:${sid}`, hub)], (g) => g.frames.some((f) => f[1] === '4' && f[3] === 'phx_reply')),
      leave: await exchange(url, [join('1', `hub:${sid}`, hub), JSON.stringify(['1', '5', `hub:${sid}`, 'phx_leave', {}])], (g) => g.frames.some((f) => f[3] === 'phx_close')),
      heartbeat: await exchange(url, [JSON.stringify([null, '9', 'phoenix', 'heartbeat', {}])], replied(1)),
      binary: await exchange(url, [Buffer.from([1, 2, 3])], closed),
      evilOrigin: await exchange(url, [], closed, { origin: 'http://evil.example' }),
      ownOrigin: await exchange(url, [JSON.stringify([null, '9', 'phoenix', 'heartbeat', {}])], replied(1), { origin: 'http://127.0.0.1:8080' }),
      oversized: await exchange(url, [JSON.stringify([null, '1', 'ret', 'phx_join', { x: 'a'.repeat(big) }])], closed),
   };
});
