"""
Accounts and sign-in by e-mailed link, free of any transport.

L{hubsd.accounts.signin.SignIn} is the one sign-in every transport uses: the
HTTP API (L{hubsd.web.accounts}), the WAMP procedures
(L{hubsd.accounts.procedures}) and the Phoenix ``auth:*`` channel. It asks
the store for single-use login tokens (kept hashed), sends the link with
L{hubsd.accounts.mailer.Mailer}, turns a used link into an account token, and
tells whoever waits on the link's login topic (L{hubsd.accounts.waiters}).
"""
