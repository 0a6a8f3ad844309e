// A missed heartbeat reply: the client's socket runs through a TCP relay that
// stops passing the server's bytes; the phoenix client's heartbeat times out,
// it closes its socket itself and reconnects (a new relayed connection that
// works), and its channel rejoins as the same session. Another member, on a
// direct socket, must see no leave: the seat was held for the reconnect.
'use strict';

const net = require('net');
const p = require('./phx');

function relay(port) {
   const state = { frozen: null, connections: 0 };
   const server = net.createServer((client) => {
      state.connections += 1;
      const id = state.connections;
      const up = net.connect(port, '127.0.0.1');
      client.on('data', (d) => up.write(d));
      up.on('data', (d) => {
         if (state.frozen !== id) client.write(d); // a frozen link drops them
      });
      const end = () => {
         client.destroy();
         up.destroy();
      };
      client.on('error', end);
      up.on('error', end);
      client.on('close', end);
      up.on('close', end);
   });
   return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, state })));
}

p.main(async ({ base, port, sid }) => {
   const out = {};
   const { server, state } = await relay(port);
   const watcher = p.socket(base);
   const watch = p.channel(watcher, `hub:${sid}`, p.hubParams('Watcher'));
   await p.reply(watch.join());

   const s = p.socket(`ws://127.0.0.1:${server.address().port}`, { heartbeatIntervalMs: 400 });
   const hub = p.channel(s, `hub:${sid}`, p.hubParams('Flaky'));
   out.join = await p.reply(hub.join());
   const me = out.join.response.session_id;
   s.hubsParams.session_id = me;
   s.hubsParams.session_token = out.join.response.session_token;
   await p.waitEvent(watch, 'presence_diff', (d) => d.joins[me]);
   // Heartbeats are answered while the link works.
   await p.sleep(1000);
   out.closesBefore = s.closes.length;
   state.frozen = state.connections; // the server's replies stop arriving
   await p.until(() => s.closes.length > 0, 'the client gave up on its socket');
   out.close = s.closes[0];
   out.heartbeatTimeouts = s.transportLog.filter((l) => l.includes('heartbeat timeout')).length;
   await p.until(() => p.events(hub, 'presence_state').length >= 2, 'rejoined');
   out.rejoin = hub.joinPush.receivedResp;
   out.connections = state.connections;
   await p.sleep(500);
   out.leavesSeen = p.events(watch, 'presence_diff', (d) => d.leaves[me] && !d.joins[me]).length;
   s.disconnect();
   watcher.disconnect();
   server.close();
   return out;
});
