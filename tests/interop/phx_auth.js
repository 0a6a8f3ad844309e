// Sign-in by e-mailed link over Phoenix, as the Hubs client does it
// (hubs: src/utils/auth-channel.js): the page joins auth:<uuid> and asks for
// the link, the link's page joins the same topic and pushes auth_verified,
// every channel on the topic gets auth_credentials. Then the account token
// on hub channels (join's auth_token, sign_in, sign_out) and bad input.
'use strict';

const crypto = require('crypto');
const http = require('http');
const p = require('./phx');

// The n-th e-mailed link, from the test's mailbox server (polled until it came).
function fetchLink(mailbox, n) {
   const get = () => new Promise((resolve, reject) => {
      http.get(`${mailbox}/${n}`, (res) => {
         let body = '';
         res.on('data', (c) => { body += c; });
         res.on('end', () => resolve(res.statusCode === 200 ? body : null));
      }).on('error', reject);
   });
   return new Promise((resolve, reject) => {
      const start = Date.now();
      const tick = () => get().then((link) => {
         if (link) resolve(new URL(link));
         else if (Date.now() - start > 15000) reject(new Error(`no e-mail ${n}`));
         else setTimeout(tick, 50);
      }, reject);
      tick();
   });
}

p.main(async ({ base, mailbox, sid, email }) => {
   const out = {};
   const key = crypto.randomUUID();

   // The page that signs in.
   const a = p.socket(base);
   const authA = p.channel(a, `auth:${key}`);
   out.joinA = await p.reply(authA.join());
   out.request = await p.reply(authA.push('auth_request', { email, origin: 'hubs' }));
   out.again = await p.reply(authA.push('auth_request', { email, origin: 'hubs' }));

   const link = await fetchLink(mailbox, 0);
   out.link = { topic: link.searchParams.get('auth_topic'), origin: link.searchParams.get('auth_origin') };
   const token = link.searchParams.get('auth_token');

   // The link's page on another socket: a wrong token first closes its channel.
   const b = p.socket(base);
   const bad = p.channel(b, `auth:${out.link.topic}`);
   let badClosed = false;
   bad.onClose(() => { badClosed = true; });
   out.joinBad = await p.reply(bad.join());
   out.badVerify = await p.reply(bad.push('auth_verified', { token: '0'.repeat(64), payload: 'p' }));
   await p.until(() => badClosed, 'the invalid link closes its channel');
   out.badClosed = badClosed;
   out.credentialsAfterBad = p.events(authA, 'auth_credentials').length;

   const verify = p.channel(b, `auth:${out.link.topic}`);
   out.joinVerify = await p.reply(verify.join());
   out.verify = await p.reply(verify.push('auth_verified', { token, payload: 'from-the-link' }));
   out.credentialsA = (await p.waitEvent(authA, 'auth_credentials')).payload;
   out.credentialsVerify = (await p.waitEvent(verify, 'auth_credentials')).payload;
   // The link works once.
   const used = p.channel(b, `auth:${out.link.topic}`);
   await p.reply(used.join());
   out.reused = await p.reply(used.push('auth_verified', { token, payload: null }));
   const accountToken = out.credentialsA.credentials;

   // Bad input on fresh channels: no e-mail (the channel may ask again), a
   // key that is not a uuid, a bad token on a hub join.
   const c = p.socket(base);
   const noEmail = p.channel(c, `auth:${crypto.randomUUID()}`);
   await p.reply(noEmail.join());
   out.noEmail = await p.reply(noEmail.push('auth_request', { origin: 'hubs' }));
   out.badEmail = await p.reply(noEmail.push('auth_request', { email: 'not an address', origin: 'hubs' }));
   out.noSuchEvent = await p.reply(noEmail.push('auth_whatever', {}));
   out.badKey = await p.reply(p.channel(c, 'auth:not-a-uuid').join());
   out.badHubToken = await p.reply(
      p.channel(c, `hub:${sid}`, p.hubParams('Eve', { auth_token: 'forged' })).join(),
   );

   // The account token on hub channels.
   const signedIn = p.channel(a, `hub:${sid}`, p.hubParams('Ann', { auth_token: accountToken }));
   out.hubJoin = await p.reply(signedIn.join());
   out.stateSignedIn = (await p.waitEvent(signedIn, 'presence_state')).payload;
   out.signInSame = await p.reply(signedIn.push('sign_in', { token: accountToken }));
   out.signOut = await p.reply(signedIn.push('sign_out', {}));

   const d = p.socket(base);
   const anon = p.channel(d, `hub:${sid}`, p.hubParams('Bob'));
   out.anonJoin = await p.reply(anon.join());
   out.signInAnon = await p.reply(anon.push('sign_in', { token: accountToken }));
   out.signInForged = await p.reply(anon.push('sign_in', { token: 'forged' }));
   out.signOutAnon = await p.reply(anon.push('sign_out', {}));

   for (const s of [a, b, c, d]) s.disconnect();
   return out;
});
