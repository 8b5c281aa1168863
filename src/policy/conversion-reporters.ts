/**
 * Which API keys report conversions: the pumping guard's conversion tripwire counts
 * only their sends, because a key that never reports (its upstream checks codes itself and never
 * calls verify or `…/conversion`) would look like traffic that never converts. A key becomes a
 * reporter when one of its messages gets a conversion (verify success or a report), seen by the
 * recorder like every change.
 */
import type { MessageRecord } from '../domain/message.ts';
import type { Logger } from '../logger.ts';
import type { ChangeObserver } from '../store/message-recorder.ts';
import type { PumpingStore } from '../store/pumping.store.ts';

export class ConversionReporters implements ChangeObserver {
  private readonly store: PumpingStore;
  private readonly log: Logger | undefined;

  constructor(store: PumpingStore, log?: Logger) {
    this.store = store;
    this.log = log;
  }

  async record(before: MessageRecord, after: MessageRecord): Promise<void> {
    if (after.conversion === undefined || before.conversion?.at === after.conversion.at) return;
    try {
      await this.store.markReporter(after.keyName, Date.parse(after.conversion.at));
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'could not mark a key as reporting conversions');
    }
  }
}
