// Remote procedure calls between autobahn-js sessions through hubsd:
// results, errors, progressive results, shared registrations, caller
// disclosure, call timeout and cancel.
'use strict';

const { autobahn, join, leave, sleep, errorInfo, run } = require('./lib.js');

async function outcome(promise) {
   try {
      const r = await promise;
      if (r instanceof autobahn.Result) {
         return { result: { args: r.args, kwargs: r.kwargs } };
      }
      return { result: r === undefined ? null : r };
   } catch (e) {
      return errorInfo(e);
   }
}

run(async ({ url, serializer }, result) => {
   const callee = await join({ url, serializer });
   const caller = await join({ url, serializer });
   const p = 'interop.test.' + serializer + '.';
   const slow = []; // resolvers of slow invocations, answered later

   await callee.register(p + 'add', (args) => args[0] + args[1]);
   await callee.register(p + 'both', (args, kwargs) =>
      new autobahn.Result([args.length, 'two'], { echo: kwargs }));
   await callee.register(p + 'fail', () => {
      throw new autobahn.Error('com.example.oops', ['bad input'], { code: 7 });
   });
   await callee.register(p + 'throws', () => {
      throw new TypeError('not a WAMP error');
   });
   await callee.register(p + 'count', async (args, kwargs, details) => {
      for (let i = 1; i <= args[0]; i++) {
         if (details.progress) {
            details.progress([i]);
         }
         await sleep(20);
      }
      return 'done';
   });
   await callee.register(p + 'whoami', (args, kwargs, details) =>
      [details.caller === caller.id, details.caller_authrole || null]);
   await callee.register(p + 'slow', () => new Promise((resolve) => slow.push(resolve)));

   result.call = await outcome(caller.call(p + 'add', [2, 3]));
   result.call_args_kwargs = await outcome(caller.call(p + 'both', [1, 2], { x: 'y' }));
   result.call_application_error = await outcome(caller.call(p + 'fail'));
   result.call_callee_exception = (await outcome(caller.call(p + 'throws'))).error;
   result.no_such_procedure = (await outcome(caller.call(p + 'missing'))).error;
   result.duplicate_registration = (await outcome(callee.register(p + 'add', () => 0))).error;
   const other = await join({ url, serializer });
   result.duplicate_registration_other_session =
      (await outcome(other.register(p + 'add', () => 0))).error;

   const progress = [];
   const final = await new Promise((resolve) => {
      caller.call(p + 'count', [3], {}, { receive_progress: true }).then(
         (r) => resolve({ result: r }),
         (e) => resolve(errorInfo(e)),
         (update) => progress.push(update),
      );
   });
   result.progressive = { progress, final };
   result.progressive_not_requested = await outcome(caller.call(p + 'count', [2]));

   result.disclose_me = await outcome(caller.call(p + 'whoami', [], {}, { disclose_me: true }));
   result.not_disclosed = await outcome(caller.call(p + 'whoami'));

   // Shared registration: two more callees, calls go round the three.
   const names = ['first', 'second', 'third'];
   const callees = [callee, other, await join({ url, serializer })];
   for (let i = 0; i < 3; i++) {
      await callees[i].register(p + 'rr', () => names[i], { invoke: 'roundrobin' });
   }
   const rr = [];
   for (let i = 0; i < 6; i++) {
      rr.push((await outcome(caller.call(p + 'rr'))).result);
   }
   result.roundrobin = rr;
   result.policy_conflict = (await outcome(caller.register(p + 'rr', () => 0, { invoke: 'random' }))).error;
   leave(callees[2]);
   await sleep(200);
   const afterLeave = [];
   for (let i = 0; i < 4; i++) {
      afterLeave.push((await outcome(caller.call(p + 'rr'))).result);
   }
   result.roundrobin_after_callee_left = afterLeave.sort();

   // Timeout: the callee never answers in time.
   const t0 = Date.now();
   result.timeout = (await outcome(caller.call(p + 'slow', [], {}, { timeout: 300 }))).error;
   const waited = Date.now() - t0;
   result.timeout_waited_ms_ok = waited >= 250 && waited < 3000;

   // Cancel (kill): autobahn-js callees do not announce call_canceling, so
   // the router cancels at once (skip) and the caller gets its ERROR.
   const pending = caller.call(p + 'slow', [], {}, {});
   await sleep(100);
   pending.cancel({ mode: 'kill' });
   result.cancel_kill = (await outcome(pending)).error;
   // The late answers of the timed-out and canceled calls are dropped and
   // the callee goes on serving.
   for (const resolve of slow.splice(0)) {
      resolve('late');
   }
   result.after_cancel = await outcome(caller.call(p + 'add', [40, 2]));

   leave(callee, caller, other);
});
