/**
 * zod → `SB_VALIDATION_FAILED` with every problem listed, so a client fixes a request in one go.
 */
import type { z } from 'zod';
import { ApiError } from '../domain/error-catalogue.ts';

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  throw new ApiError('SB_VALIDATION_FAILED', `invalid ${where}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
}
