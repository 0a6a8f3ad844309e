// The room's presence as Phoenix-shaped diffs build it (docs/wamp-api.md,
// Presence): session id -> metas; a member is there while it has a meta.

export class PresenceMap {
  constructor() {
    this.metas = new Map();
  }

  /** Replace everything with an enter snapshot's `presence`. */
  reset(state) {
    this.metas.clear();
    for (const [id, entry] of Object.entries(state || {})) {
      if (entry && Array.isArray(entry.metas) && entry.metas.length) {
        this.metas.set(id, entry.metas.slice());
      }
    }
  }

  /** Everything as an enter snapshot's `presence` ({session id: {metas}}), the inverse of reset. */
  state() {
    return Object.fromEntries([...this.metas].map(([id, metas]) => [id, { metas: metas.slice() }]));
  }

  /** Apply one `.presence` event: leaves first, then joins (an update is both). */
  apply({ joins = {}, leaves = {} }) {
    for (const [id, entry] of Object.entries(leaves)) {
      const gone = new Set((entry.metas || []).map((m) => m.phx_ref));
      if (this.metas.has(id)) this.metas.set(id, this.metas.get(id).filter((m) => !gone.has(m.phx_ref)));
    }
    for (const [id, entry] of Object.entries(joins)) {
      const metas = this.metas.get(id) || [];
      this.metas.set(id, metas.concat(entry.metas || []));
    }
    // Emptied only now, so that an update keeps the member's place in the order.
    for (const id of Object.keys(leaves)) {
      if (this.metas.has(id) && !this.metas.get(id).length) this.metas.delete(id);
    }
  }

  /** The current meta of a member (its latest), or undefined. */
  get(id) {
    const metas = this.metas.get(id);
    return metas ? metas[metas.length - 1] : undefined;
  }

  /** [[session id, meta], ...] in the order members arrived. */
  members() {
    return [...this.metas.keys()].map((id) => [id, this.get(id)]);
  }

  name(id) {
    const meta = this.get(id);
    return (meta && meta.profile && meta.profile.displayName) || "someone";
  }
}
