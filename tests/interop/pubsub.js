// Publish & subscribe between autobahn-js sessions through hubsd:
// exclude_me, exclude/eligible, acknowledge, disclose_me, retained events,
// payload round trip. Session ids are reported as the names a, b, c.
'use strict';

const { join, leave, sleep, errorInfo, run } = require('./lib.js');

const PAYLOAD_ARGS = [1, -2, 3.5, 'héllo ✓', true, false, null, [1, [2, {}]], { k: 'v' }];
const PAYLOAD_KWARGS = { n: 2 ** 40, s: 'x'.repeat(300), nested: { list: [1, 2, 3], t: true } };

run(async ({ url, serializer }, result) => {
   const a = await join({ url, serializer });
   const b = await join({ url, serializer });
   const c = await join({ url, serializer });
   const name = { [a.id]: 'a', [b.id]: 'b', [c.id]: 'c' };
   const got = { a: [], b: [], c: [] };
   const record = (who) => (args, kwargs, details) => {
      got[who].push({
         topic: details.topic,
         args: args || [],
         kwargs: kwargs || {},
         publisher: details.publisher === undefined ? null : name[details.publisher] || 'unknown',
         retained: Boolean(details.retained),
      });
   };
   const topic = 'interop.test.' + serializer + '.room';
   for (const [who, s] of [['a', a], ['b', b], ['c', c]]) {
      await s.subscribe(topic, record(who));
   }

   const settle = async () => {
      // One acknowledged publish from each session to a topic nobody
      // subscribes to: once acknowledged, earlier events have been routed.
      for (const s of [a, b, c]) {
         await s.publish('interop.test.flush', [], {}, { acknowledge: true });
      }
      await sleep(100);
      const snapshot = { a: got.a.splice(0), b: got.b.splice(0), c: got.c.splice(0) };
      return snapshot;
   };

   a.publish(topic, ['default']);
   result.exclude_me_default = await settle();

   a.publish(topic, ['include me'], {}, { exclude_me: false });
   result.exclude_me_false = await settle();

   a.publish(topic, ['not b'], {}, { exclude: [b.id], exclude_me: false });
   result.exclude = await settle();

   a.publish(topic, ['only b'], {}, { eligible: [b.id] });
   result.eligible = await settle();

   a.publish(topic, ['b and c but not c'], {}, { eligible: [b.id, c.id], exclude: [c.id] });
   result.eligible_and_exclude = await settle();

   a.publish(topic, ['who'], {}, { disclose_me: true });
   result.disclose_me = await settle();

   a.publish(topic, PAYLOAD_ARGS, PAYLOAD_KWARGS);
   const roundtrip = await settle();
   result.payload_roundtrip =
      JSON.stringify(roundtrip.b[0].args) === JSON.stringify(PAYLOAD_ARGS) &&
      JSON.stringify(roundtrip.b[0].kwargs) === JSON.stringify(PAYLOAD_KWARGS);

   const pub = await a.publish(topic, ['acked'], {}, { acknowledge: true });
   result.acknowledge = {
      id_is_integer: Number.isInteger(pub.id) && pub.id > 0,
      delivered: (await settle()).b.map((e) => e.args[0]),
   };

   try {
      await a.publish('hubsd..bad', [], {}, { acknowledge: true });
      result.acknowledge_error = 'no error';
   } catch (e) {
      result.acknowledge_error = errorInfo(e).error;
   }

   // Retained: the last retained event goes to a new subscriber that asks.
   const kept = 'interop.test.' + serializer + '.kept';
   await a.publish(kept, ['first'], {}, { retain: true, acknowledge: true });
   await a.publish(kept, ['second'], { v: 2 }, { retain: true, acknowledge: true });
   await a.publish(kept, ['not retained'], {}, { acknowledge: true });
   const late = await join({ url, serializer });
   const lateGot = [];
   await late.subscribe(kept, (args, kwargs, details) => {
      lateGot.push({ args, kwargs: kwargs || {}, retained: Boolean(details.retained) });
   }, { get_retained: true });
   const other = await join({ url, serializer });
   const otherGot = [];
   await other.subscribe(kept, (args) => otherGot.push(args));
   await sleep(300);
   result.retained = { with_get_retained: lateGot, without_get_retained: otherGot };

   // Unsubscribed sessions stop receiving.
   const sub = await c.subscribe('interop.test.unsub', record('c'));
   await c.unsubscribe(sub);
   a.publish('interop.test.unsub', ['gone']);
   result.after_unsubscribe = (await settle()).c;

   leave(a, b, c, late, other);
});
