/**
 * The public shape of a message (CONTRACTS §3 `GET /v1/messages/:id`): the number masked, the
 * code never present, `channel`/`provider` those of the delivering attempt, else the latest.
 */
import type { MessageRecord } from '../domain/message.ts';
import { maskPhone } from '../domain/mask.ts';

export function messageView(m: MessageRecord): Record<string, unknown> {
  const current = m.attempts.find((a) => a.status === 'delivered') ?? m.attempts[m.attempts.length - 1];
  const total = m.attempts.reduce((sum, a) => sum + (a.cost?.amount ?? 0), 0);
  return {
    id: m.id,
    status: m.status,
    channel: current?.channel ?? m.channels[0] ?? null,
    provider: current?.provider ?? null,
    to: maskPhone(m.to),
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    expiresAt: m.expiresAt ?? null,
    ...(m.verifiedAt !== undefined ? { verifiedAt: m.verifiedAt } : {}),
    ...(m.error !== undefined ? { error: m.error } : {}),
    cost: { amount: Math.round(total * 1e6) / 1e6, currency: m.attempts.find((a) => a.cost)?.cost?.currency ?? 'USD' },
    attempts: m.attempts.map((a) => ({
      n: a.n,
      channel: a.channel,
      provider: a.provider,
      ...(a.providerMessageId !== undefined ? { providerMessageId: a.providerMessageId } : {}),
      status: a.status,
      ...(a.error !== undefined ? { error: a.error } : {}),
      startedAt: a.startedAt,
      ...(a.sentAt !== undefined ? { sentAt: a.sentAt } : {}),
      ...(a.deliveredAt !== undefined ? { deliveredAt: a.deliveredAt } : {}),
      ...(a.cost !== undefined ? { cost: a.cost } : {}),
    })),
    ...(m.routing !== undefined ? { routing: m.routing } : {}),
    timeline: m.timeline,
    metadata: m.metadata ?? {},
  };
}
