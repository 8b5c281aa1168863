/**
 * Message search for the ops console: by id, by number, by status/channel/provider/time, by API key
 * and by one metadata field.
 *
 * A number is never looked up in a plain index: it is normalised, turned into its phone token
 * (the HMAC under the master key's `phone-hmac` subkey that the audit stream records for every
 * admitted message) and the stream's `accepted` entries with that token name the messages. So the
 * store holds no index a leaked dump could be searched by, and a search finds what the stream
 * still holds (it is capped at `audit.maxLen` entries).
 */
import { z } from 'zod';
import type { MessageRecord } from '../../domain/message.ts';
import type { AuditTrail } from '../../policy/audit-trail.ts';
import { listFilterOf, type ListFilter, type MessageStore } from '../../store/message.store.ts';
import { normalizeRecipient } from '../../admission/admission.ts';
import { channelSchema, providerIdSchema } from '../../admission/message-request.schema.ts';

const MESSAGE_ID = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * A time as an operator types it: ISO 8601 (a form's `datetime-local` value has no zone and is
 * read as UTC), or Unix seconds/milliseconds.
 */
const consoleTime = z
  .string()
  .refine(
    (v) => /^\d{10,13}$/.test(v) || /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(v),
    'not a time (ISO 8601 or Unix seconds/ms)',
  )
  .transform((v, ctx) => {
    if (/^\d+$/.test(v)) return v.length === 10 ? Number(v) * 1000 : Number(v);
    const zoned = /T.*(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : v.includes('T') ? `${v}Z` : `${v}T00:00:00Z`;
    const t = Date.parse(zoned);
    if (!Number.isFinite(t)) {
      ctx.addIssue({ code: 'custom', message: 'not a valid date' });
      return z.NEVER;
    }
    return t;
  });

/** The query of `GET /console/messages` (empty form fields count as absent). */
export const consoleMessageQuerySchema = z.strictObject({
  id: z.string().regex(MESSAGE_ID, 'not a message id (msg_ + 26 characters)').optional(),
  to: z.string().min(3).max(32).optional(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'a country is two letters (ISO 3166-1)')
    .transform((c) => c.toUpperCase())
    .optional(),
  key: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'not an API key name')
    .optional(),
  status: z.enum(['accepted', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'expired']).optional(),
  channel: channelSchema.optional(),
  provider: providerIdSchema.optional(),
  since: consoleTime.optional(),
  until: consoleTime.optional(),
  meta: z
    .string()
    .max(200)
    .regex(/^[^=\s][^=]{0,63}=[\s\S]{0,128}$/, 'metadata filter is field=value')
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().regex(MESSAGE_ID, 'not a cursor').optional(),
});

export type ConsoleMessageQuery = z.infer<typeof consoleMessageQuerySchema>;

/** Drops empty strings (unfilled form fields) so they read as absent rather than invalid. */
export function withoutEmptyFields(query: unknown): unknown {
  if (query === null || typeof query !== 'object') return query;
  return Object.fromEntries(
    Object.entries(query as Record<string, unknown>).filter(([, v]) => !(typeof v === 'string' && v.trim() === '')),
  );
}

/** Whether a metadata field holds the value: strings as they are, other values as JSON text. */
export function metadataMatches(doc: MessageRecord, filter: string): boolean {
  const eq = filter.indexOf('=');
  const field = filter.slice(0, eq).trim();
  const wanted = filter.slice(eq + 1);
  const meta = doc.metadata;
  if (meta === undefined || !Object.hasOwn(meta, field)) return false;
  const value = meta[field];
  return (typeof value === 'string' ? value : JSON.stringify(value)) === wanted;
}

export interface SearchResult {
  items: MessageRecord[];
  nextCursor: string | null;
  /** How the messages were found. */
  via: 'id' | 'number' | 'filters';
}

export interface SearchDeps {
  store: MessageStore;
  audit: AuditTrail;
}

function inTimeRange(doc: MessageRecord, q: ConsoleMessageQuery): boolean {
  const created = Date.parse(doc.createdAt);
  if (q.since !== undefined && created < q.since) return false;
  if (q.until !== undefined && created > q.until) return false;
  return true;
}

function matchesFields(doc: MessageRecord, q: ConsoleMessageQuery): boolean {
  const current = doc.attempts.find((a) => a.status === 'delivered') ?? doc.attempts[doc.attempts.length - 1];
  if (q.status !== undefined && doc.status !== q.status) return false;
  if (q.channel !== undefined && current?.channel !== q.channel) return false;
  if (q.provider !== undefined && current?.provider !== q.provider) return false;
  if (q.key !== undefined && doc.keyName !== q.key) return false;
  if (q.meta !== undefined && !metadataMatches(doc, q.meta)) return false;
  return inTimeRange(doc, q);
}

/**
 * Runs a console search. Throws the admission's `SB_VALIDATION_PHONE_NUMBER` for a number that is
 * not one (the route answers 400).
 */
export async function searchMessages(deps: SearchDeps, q: ConsoleMessageQuery): Promise<SearchResult> {
  if (q.id !== undefined) {
    const stored = await deps.store.get(q.id);
    return { items: stored && matchesFields(stored.doc, q) ? [stored.doc] : [], nextCursor: null, via: 'id' };
  }
  if (q.to !== undefined) {
    const { e164 } = normalizeRecipient(q.to, q.country);
    const entries = await deps.audit.auditStore.list({
      limit: q.limit,
      phone: deps.audit.phoneToken(e164),
      decision: 'accepted',
      ...(q.key !== undefined ? { key: q.key } : {}),
    });
    const ids = [...new Set(entries.map((e) => e.messageId).filter((id): id is string => id !== undefined))];
    const docs = await Promise.all(ids.map((id) => deps.store.get(id)));
    const items = docs
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .map((s) => s.doc)
      .filter((d) => matchesFields(d, q));
    return { items, nextCursor: null, via: 'number' };
  }
  const filter: ListFilter = {
    ...listFilterOf(q, q.key),
    ...(q.meta !== undefined ? { where: (d: MessageRecord) => metadataMatches(d, q.meta as string) } : {}),
  };
  const page = await deps.store.list(filter);
  return { ...page, via: 'filters' };
}
