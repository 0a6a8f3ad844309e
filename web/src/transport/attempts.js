// Two parts of the page asking a transport to connect at once (the lobby
// and the room door, say) share one attempt when they ask with the same token.

export class ConnectAttempts {
  constructor() {
    this.pending = null;
  }

  /** The attempt under way for `token`, or a new one, `start()`'s promise. */
  share(token, start) {
    if (this.pending && this.pending.token === token) return this.pending.promise;
    const promise = start();
    this.pending = { token, promise };
    const settled = () => {
      if (this.pending && this.pending.promise === promise) this.pending = null;
    };
    promise.then(settled, settled);
    return promise;
  }
}
