// A room's link: the owner of an invite-only room copies its invite link,
// and the friend who opens it is asked for a name and enters.
//
// The link is a room page (/<sid>/<slug>?invite=...), which hubsd answers
// with the client's page.
'use strict';

const b = require('./browser');

b.main(async (browser, base, out, r) => {
   const alice = await b.person(browser, base, 'Alice');
   await b.createRoom(alice, base, 'Friends only', { entryMode: 'invite' });
   const aliceId = await b.sessionId(alice);
   await alice.page.click('#invite');
   const notice = alice.page.locator('#notices .notice.info', { hasText: 'Invite link:' });
   await notice.waitFor({ timeout: 15000 });
   const link = (await notice.innerText()).replace('Invite link: ', '').trim();
   r.link = link;

   const bob = await b.person(browser, base, 'Bob');
   // Without the invite: refused, in words.
   await bob.page.goto(link.replace(/\?.*$/, ''));
   await bob.page.fill('#display-name', 'Bob');
   await bob.page.click('#enter-room');
   await bob.page.locator('#enter-error').waitFor({ timeout: 15000 });
   r.withoutInvite = await bob.page.locator('#enter-error').innerText();
   // With it: in, and Alice sees him.
   await bob.page.goto(link);
   await bob.page.waitForSelector('h2:has-text("Enter Friends only")', { timeout: 15000 });
   r.doorTitle = await bob.page.locator('h2').first().innerText();
   await bob.page.fill('#display-name', 'Bob');
   await bob.page.click('#enter-room');
   await bob.page.waitForSelector('#chat-input', { timeout: 30000 });
   const bobId = await b.sessionId(bob);
   await b.waitForAvatar(alice, bobId);
   await b.waitForAvatar(bob, aliceId);
   r.bobPeople = await bob.page.locator('#people li .who').allInnerTexts();
   r.problems = [...alice.problems, ...bob.problems];
   return r;
});
