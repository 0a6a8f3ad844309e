// Heartbeats keep a socket open; a socket that stops heartbeating is closed by
// the server's idle timeout (not with 1000), and the client reconnects and
// rejoins as the same session (the session_token in its params, as Hubs does).
'use strict';

const p = require('./phx');

p.main(async ({ base, sid, idle }) => {
   const out = {};
   // Heartbeats every idle/4: the server must answer each one, or this
   // client closes its own socket ("heartbeat timeout").
   const live = p.socket(base, { heartbeatIntervalMs: Math.floor(idle / 4) });
   const liveHub = p.channel(live, `hub:${sid}`, p.hubParams('Live'));
   out.liveJoin = await p.reply(liveHub.join());
   // A client that never heartbeats within the idle timeout.
   const quiet = p.socket(base, { heartbeatIntervalMs: 600000 });
   const hub = p.channel(quiet, `hub:${sid}`, p.hubParams('Quiet'));
   out.join = await p.reply(hub.join());
   quiet.hubsParams.session_id = out.join.response.session_id;
   quiet.hubsParams.session_token = out.join.response.session_token;
   await p.until(() => quiet.closes.length > 0, 'the idle socket closed', idle * 10);
   out.close = quiet.closes[0];
   // Reconnect and rejoin by itself: a second presence_state arrives.
   await p.until(() => p.events(hub, 'presence_state').length >= 2, 'rejoined', idle * 10);
   out.rejoin = hub.joinPush.receivedResp;
   out.state = p.events(hub, 'presence_state')[1].payload;
   out.liveCloses = live.closes.length;
   out.liveHeartbeats = live.ref;
   live.disconnect();
   quiet.disconnect();
   return out;
});
