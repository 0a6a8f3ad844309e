// Helpers for the npm `phoenix` client scenarios run by tests/phoenix/test_phoenix_js.py.
//
// The Socket is created the way the Hubs client creates it (hubs:
// src/utils/phoenix-utils.js): an endpoint ending in /socket, params that the
// client mutates after the hub join (session_id, session_token), the `ws`
// package as the WebSocket on Node 20. Every wait has a generous timeout
// and fails with what was seen, never hangs.
'use strict';

const { Socket, Presence } = require('phoenix');
const WS = require('ws');

const TIMEOUT = 15000;

// ws emits 'error' events that nobody listens to; phoenix reports the close.
class QuietWS extends WS {
   constructor(...a) {
      super(...a);
      this.on('error', () => {});
   }
}

function socket(base, opts = {}) {
   const params = opts.params || {};
   const log = [];
   const s = new Socket(`${base}/socket`, {
      logger: (kind, msg) => log.push(`${kind}: ${msg}`),
      transport: QuietWS,
      params: () => params,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      reconnectAfterMs: opts.reconnectAfterMs || (() => 100),
      rejoinAfterMs: opts.rejoinAfterMs || (() => 200),
   });
   s.hubsParams = params;
   s.transportLog = log;
   s.closes = [];
   s.onClose((e) => s.closes.push({ code: e.code, reason: e.reason }));
   s.connect();
   return s;
}

// A channel that records every event it receives, in order.
function channel(s, topic, params) {
   const ch = s.channel(topic, params);
   ch.seen = [];
   const trigger = ch.trigger.bind(ch);
   ch.trigger = (event, payload, ref, joinRef) => {
      if (!event.startsWith('chan_reply_')) ch.seen.push({ event, payload });
      return trigger(event, payload, ref, joinRef);
   };
   ch.presence = new Presence(ch);
   return ch;
}

function reply(push) {
   return new Promise((resolve, reject) => {
      push.receive('ok', (r) => resolve({ status: 'ok', response: r }));
      push.receive('error', (r) => resolve({ status: 'error', response: r }));
      push.receive('timeout', () => reject(new Error('push timed out')));
   });
}

// Wait until fn() returns something truthy; reject with `what` on timeout.
function until(fn, what, ms = TIMEOUT) {
   return new Promise((resolve, reject) => {
      const start = Date.now();
      const tick = () => {
         let v;
         try {
            v = fn();
         } catch (e) {
            reject(e);
            return;
         }
         if (v) resolve(v);
         else if (Date.now() - start > ms) reject(new Error(`timed out waiting for ${what}`));
         else setTimeout(tick, 20);
      };
      tick();
   });
}

function events(ch, name, pred = () => true) {
   return ch.seen.filter((e) => e.event === name && pred(e.payload));
}

function waitEvent(ch, name, pred = () => true, what) {
   return until(() => events(ch, name, pred)[0], what || `${name} on ${ch.topic}`);
}

function sleep(ms) {
   return new Promise((r) => setTimeout(r, ms));
}

// The hub channel join params the Hubs client sends (hubs: src/utils/hub-utils.js).
function hubParams(name, extra = {}) {
   return {
      profile: { displayName: name, avatarId: 'avatar-1' },
      context: { mobile: false, embed: false, hmd: false },
      push_subscription_endpoint: null,
      auth_token: null,
      perms_token: null,
      ...extra,
   };
}

function avatar(networkId, owner, t) {
   return {
      dataType: 'u',
      data: {
         networkId,
         owner,
         creator: owner,
         lastOwnerTime: t,
         template: '#remote-avatar',
         persistent: false,
         parent: null,
         components: { 0: { x: 1, y: 2, z: 3 } },
         isFirstSync: true,
      },
   };
}

function main(fn) {
   const args = JSON.parse(process.argv[2]);
   fn(args).then(
      (out) => {
         console.log(JSON.stringify(out));
         process.exit(0);
      },
      (e) => {
         console.error(e && e.stack ? e.stack : String(e));
         process.exit(1);
      },
   );
}

module.exports = { socket, channel, reply, until, events, waitEvent, sleep, hubParams, avatar, main, WS };
