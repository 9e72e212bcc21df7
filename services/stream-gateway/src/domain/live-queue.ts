/**
 * Live items that wait for their turn: a stream channel delivers positions in order, so an item
 * that arrives after a gap (or while the log is read) waits here until what comes before it is
 * delivered.
 */
export class LiveQueue<T> {
  private items: T[] = [];

  push(...items: T[]): void {
    this.items.push(...items);
  }

  /**
   * Reads the log (when `read`), then delivers the waiting items in order with `apply`, which
   * answers false for one that must wait (a gap before it): then the log is read again, until no
   * item is left waiting on a gap. Items that arrive meanwhile join the queue.
   */
  async drain(
    read: boolean,
    readLog: () => Promise<void>,
    closed: () => boolean,
    apply: (item: T) => boolean,
  ): Promise<void> {
    for (;;) {
      if (read) await readLog();
      read = true;
      if (closed()) return;
      const waiting = this.items;
      this.items = [];
      let at = 0;
      while (at < waiting.length && apply(waiting[at]!)) at++;
      if (at === waiting.length) return;
      this.items = [...waiting.slice(at), ...this.items];
    }
  }
}
