// A Phoenix client in a room with a WAMP member (driven by the Python test):
// sees it in presence, exchanges NAF and chat with it.
'use strict';

const p = require('./phx');

p.main(async ({ base, sid, wampId }) => {
   const out = {};
   const s = p.socket(base);
   const hub = p.channel(s, `hub:${sid}`, p.hubParams('Phoebe'));
   out.join = await p.reply(hub.join());
   const me = out.join.response.session_id;
   out.state = (await p.waitEvent(hub, 'presence_state')).payload;
   hub.push('events:entered', { initialOccupantCount: 1, entryDisplayType: 'Screen' });
   hub.push('naf', p.avatar('phoebe-avatar', me, Date.now()));
   hub.push('message', { type: 'chat', body: 'hi from phoenix' });
   out.naf = (await p.waitEvent(hub, 'naf', (m) => m.from_session_id === wampId)).payload;
   out.chat = (await p.waitEvent(hub, 'message', (m) => m.session_id === wampId)).payload;
   // Stay until the WAMP side has seen our traffic (it says so with a chat).
   await p.waitEvent(hub, 'message', (m) => m.body === 'bye');
   s.disconnect();
   return out;
});
