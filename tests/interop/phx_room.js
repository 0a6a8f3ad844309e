// Two Phoenix clients in one room: join, presence, naf/nafr/message both ways,
// a spawn denied without permission, a kick (close code 1000) and the refused rejoin.
'use strict';

const p = require('./phx');

p.main(async ({ base, sid, creatorToken }) => {
   const out = {};
   const a = p.socket(base);
   const ret = p.channel(a, 'ret', { hub_id: sid });
   out.ret = await p.reply(ret.join());
   const hubA = p.channel(a, `hub:${sid}`, p.hubParams('Ann', { creator_assignment_token: creatorToken }));
   out.joinA = await p.reply(hubA.join());
   const ann = out.joinA.response.session_id;
   a.hubsParams.session_id = ann;
   a.hubsParams.session_token = out.joinA.response.session_token;
   await p.waitEvent(hubA, 'presence_state');
   out.stateA = p.events(hubA, 'presence_state')[0].payload;

   const b = p.socket(base);
   const hubB = p.channel(b, `hub:${sid}`, p.hubParams('Bob'));
   out.joinB = await p.reply(hubB.join());
   const bob = out.joinB.response.session_id;
   b.hubsParams.session_id = bob;
   b.hubsParams.session_token = out.joinB.response.session_token;
   await p.waitEvent(hubB, 'presence_state');
   out.stateB = p.events(hubB, 'presence_state')[0].payload;
   out.diffJoinB = (await p.waitEvent(hubA, 'presence_diff', (d) => d.joins[bob])).payload;

   hubA.push('events:entered', { initialOccupantCount: 1, entryDisplayType: 'Screen', userAgent: 'node' });
   hubB.push('events:entered', { initialOccupantCount: 1, entryDisplayType: 'Screen', userAgent: 'node' });
   const entered = (d) => d.joins[ann] && d.joins[ann].metas[0].presence === 'room';
   out.diffEnteredA = (await p.waitEvent(hubB, 'presence_diff', entered)).payload;
   await p.until(() => hubA.presence.list().length === 2 && hubB.presence.list().length === 2, 'both in presence');
   await p.until(
      () => hubA.presence.state[bob] && hubA.presence.state[bob].metas[0].presence === 'room',
      'bob entered as seen by ann',
   );
   out.presenceListB = hubB.presence.list((id, { metas }) => ({ id, presence: metas[0].presence }));

   // naf from A (an avatar first sync) and nafr from B (an update as a string).
   hubA.push('naf', p.avatar('ann-avatar', ann, Date.now()));
   out.nafAtB = (await p.waitEvent(hubB, 'naf', (m) => m.data && m.data.networkId === 'ann-avatar')).payload;
   const tBob = Date.now();
   hubB.push('naf', p.avatar('bob-avatar', bob, tBob));
   await p.waitEvent(hubA, 'naf', (m) => m.data && m.data.networkId === 'bob-avatar');
   const update = { dataType: 'u', data: { networkId: 'bob-avatar', owner: bob, creator: bob, lastOwnerTime: tBob, template: '#remote-avatar', persistent: false, parent: null, components: { 0: { x: 9 } } } };
   hubB.push('nafr', { naf: JSON.stringify(update) });
   out.nafrAtA = (await p.waitEvent(hubA, 'naf', (m) => m.data && m.data.components && m.data.components['0'] && m.data.components['0'].x === 9)).payload;

   // chat both ways, and the sender sees its own message.
   hubA.push('message', { type: 'chat', body: 'hello from ann' });
   out.chatAtB = (await p.waitEvent(hubB, 'message', (m) => m.body === 'hello from ann')).payload;
   out.chatAtA = (await p.waitEvent(hubA, 'message', (m) => m.body === 'hello from ann')).payload;
   hubB.push('message', { type: 'chat', body: 'hello from bob', from: 'Mallory' });
   out.chatFromB = (await p.waitEvent(hubA, 'message', (m) => m.body === 'hello from bob')).payload;

   // B may not spawn media (member permissions lack spawn_and_move_media):
   // its media first sync never reaches A, its chat right after it does.
   const media = p.avatar('bob-media', bob, Date.now());
   media.data.template = '#interactable-media';
   hubB.push('naf', media);
   hubB.push('message', { type: 'chat', body: 'after media' });
   await p.waitEvent(hubA, 'message', (m) => m.body === 'after media');
   out.mediaAtA = p.events(hubA, 'naf', (m) => m.data && m.data.networkId === 'bob-media').length;
   out.kickDenied = await p.reply(hubB.push('kick', { session_id: ann }));

   // A refreshes its perms token and kicks B.
   out.perms = await p.reply(hubA.push('refresh_perms_token', {}));
   out.unknown = await p.reply(hubA.push('no_such_event', {}));
   hubA.push('kick', { session_id: bob });
   await p.until(() => b.closes.length > 0, 'bob socket closed');
   out.bobClose = b.closes[0];
   out.diffLeaveB = (await p.waitEvent(hubA, 'presence_diff', (d) => d.leaves[bob])).payload;
   // The phoenix client reconnects and rejoins by itself: the room refuses.
   await p.until(() => hubB.joinPush.receivedResp && hubB.joinPush.receivedResp.status === 'error', 'rejoin refused');
   out.rejoinB = hubB.joinPush.receivedResp;
   b.disconnect();
   a.disconnect();
   return out;
});
