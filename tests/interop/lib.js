// Shared helpers for the autobahn-js scenarios run by test_autobahn_js.py.
//
// autobahn-js 26 opens its transport with the global WebSocket, which
// Node.js has only from version 22: on older Node we install the `ws`
// package's WebSocket (same browser-style API) as the global first. ws
// throws an 'error' event nobody listens to (autobahn sets no onerror);
// the 'close' that follows is what autobahn reports, so errors are muted.
'use strict';

if (typeof globalThis.WebSocket === 'undefined') {
   const WS = require('ws');
   globalThis.WebSocket = class extends WS {
      constructor(...a) {
         super(...a);
         this.on('error', () => {});
      }
   };
}

const autobahn = require('autobahn');

const SERIALIZERS = {
   json: () => new autobahn.serializer.JSONSerializer(),
   msgpack: () => new autobahn.serializer.MsgpackSerializer(),
   cbor: () => new autobahn.serializer.CBORSerializer(),
};

function args() {
   const [url, serializer] = process.argv.slice(2);
   if (!url || !SERIALIZERS[serializer]) {
      throw new Error('usage: node SCRIPT ws://host:port/ws json|msgpack|cbor');
   }
   return { url, serializer };
}

// Join and resolve with the session, or reject with {reason, message} when
// the router refuses (ABORT) or the connection fails. Never retries.
function join(opts) {
   return new Promise((resolve, reject) => {
      const conn = new autobahn.Connection({
         url: opts.url,
         realm: opts.realm || 'hubsd',
         serializers: [SERIALIZERS[opts.serializer]()],
         authmethods: opts.authmethods,
         authid: opts.authid,
         onchallenge: opts.onchallenge,
         max_retries: 0,
         retry_if_unreachable: false,
      });
      let opened = false;
      conn.onopen = (session, details) => {
         opened = true;
         session.conn = conn;
         session.welcome = details;
         resolve(session);
      };
      conn.onclose = (reason, details) => {
         if (!opened) {
            reject({ reason: details && details.reason, message: details && details.message, close: reason });
         }
         return true;
      };
      conn.open();
   });
}

function leave(...sessions) {
   for (const s of sessions) {
      if (s && s.conn && s.isOpen) {
         s.conn.close();
      }
   }
}

function sleep(ms) {
   return new Promise((resolve) => setTimeout(resolve, ms));
}

// A WAMP error (or anything thrown) as plain JSON for the test to compare.
function errorInfo(e) {
   if (e && typeof e.error === 'string') {
      return { error: e.error, args: e.args || [], kwargs: e.kwargs || {} };
   }
   if (e && e.reason !== undefined) {
      return { abort: e.reason, close: e.close };
   }
   return { exception: String(e && e.message ? e.message : e) };
}

// Run the scenario, print its JSON result on one line and exit; a scenario
// that hangs is cut off so the test fails with what was collected.
function run(scenario, limitMs = 20000) {
   const result = {};
   const timer = setTimeout(() => {
      result.timed_out = true;
      console.log(JSON.stringify(result));
      process.exit(2);
   }, limitMs);
   Promise.resolve().then(() => scenario(args(), result)).then(
      () => {
         clearTimeout(timer);
         console.log(JSON.stringify(result));
         process.exit(0);
      },
      (e) => {
         clearTimeout(timer);
         result.failed = errorInfo(e);
         console.log(JSON.stringify(result));
         process.exit(1);
      },
   );
}

module.exports = { autobahn, join, leave, sleep, errorInfo, run };
