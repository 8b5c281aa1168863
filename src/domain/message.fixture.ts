/**
 * A minimal, valid message record for the pure unit tests of domain, pipeline and routing
 * functions: an accepted SMS to a US test number with no attempts, created at `createdAt`. Each
 * test states only what it is about through `patch`.
 */
import type { MessageRecord } from './message.ts';

export function messageFixture(patch: Partial<MessageRecord> = {}, createdAt = '2026-01-01T00:00:00.000Z'): MessageRecord {
  return {
    id: 'msg_01HZZZZZZZZZZZZZZZZZZZZZZZ',
    keyName: 'k',
    status: 'accepted',
    to: '+14155550100',
    country: 'US',
    channels: ['sms'],
    purpose: 'transactional',
    body: 'hi',
    createdAt,
    updatedAt: createdAt,
    attempts: [],
    timeline: [],
    final: false,
    ...patch,
  };
}
