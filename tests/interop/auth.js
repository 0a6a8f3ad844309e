// Authentication of autobahn-js clients by hubsd: ticket and WAMP-CRA,
// success and failure, and the anonymous fallback.
'use strict';

const { autobahn, join, leave, errorInfo, run } = require('./lib.js');

async function attempt(opts) {
   try {
      const s = await join(opts);
      const w = s.welcome;
      const joined = { authid: w.authid, authrole: w.authrole, authmethod: w.authmethod };
      if (opts.authrole_check) {
         joined.can_publish = await s.publish('interop.test.auth', [], {}, { acknowledge: true })
            .then(() => true, (e) => errorInfo(e).error);
      }
      leave(s);
      return { joined };
   } catch (e) {
      return errorInfo(e);
   }
}

run(async ({ url, serializer }, result) => {
   const base = { url, serializer };
   const ticket = (secret) => (session, method) => {
      if (method !== 'ticket') {
         throw new Error('unexpected method ' + method);
      }
      return secret;
   };
   const cra = (secret) => (session, method, extra) => {
      if (method !== 'wampcra') {
         throw new Error('unexpected method ' + method);
      }
      const key = extra.salt
         ? autobahn.auth_cra.derive_key(secret, extra.salt, extra.iterations, extra.keylen)
         : secret;
      return autobahn.auth_cra.sign(key, extra.challenge);
   };

   result.ticket_ok = await attempt({
      ...base, authmethods: ['ticket'], authid: 'alice', onchallenge: ticket('secret123'),
      authrole_check: true,
   });
   result.ticket_wrong = await attempt({
      ...base, authmethods: ['ticket'], authid: 'alice', onchallenge: ticket('nope'),
   });
   result.ticket_unknown_authid = await attempt({
      ...base, authmethods: ['ticket'], authid: 'mallory', onchallenge: ticket('secret123'),
   });
   result.ticket_for_cra_principal = await attempt({
      ...base, authmethods: ['ticket'], authid: 'bob', onchallenge: ticket('s3cr3t'),
   });
   result.wampcra_ok = await attempt({
      ...base, authmethods: ['wampcra'], authid: 'bob', onchallenge: cra('s3cr3t'),
   });
   result.wampcra_wrong = await attempt({
      ...base, authmethods: ['wampcra'], authid: 'bob', onchallenge: cra('guess'),
   });
   result.wampcra_then_ticket = await attempt({
      ...base, authmethods: ['wampcra', 'ticket'], authid: 'alice', onchallenge: (s, method) =>
         (method === 'ticket' ? 'secret123' : 'wrong'),
   });
   result.anonymous = await attempt({ ...base });
   result.no_such_realm = await attempt({ ...base, realm: 'elsewhere' });
});
