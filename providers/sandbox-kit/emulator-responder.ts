/**
 * How every carrier emulator answers and records a request (CONTRACTS §6): the log entry and its
 * counters are written once the response is over, and a send counts as `accepted` only when its
 * success answer was fully written — a client that hung up mid-request (a killed worker, a
 * timeout) may or may not have got it, which is exactly the ambiguity the gateway must handle.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Channel, ProviderId, SandboxControl, SandboxLogEntry } from '../provider.ts';

/** What an emulator knows about a request for the sandbox log. */
export interface EmulatorLogFields {
  to?: string | undefined;
  reference?: string | undefined;
  /** The text the handset gets (kept only for accepted sends). */
  body?: string | undefined;
  /** Other content the handset gets, e.g. TwiML for calls (accepted sends only). */
  content?: string | undefined;
  channel?: Channel | undefined;
}

export type EmulatorResponder = (
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  body: unknown,
  log: EmulatorLogFields,
  headers?: Record<string, string>,
) => FastifyReply;

/** Records `entry` once the response is over; `accepted` only if `acceptedStatus` was fully written. */
export function recordWhenDone(
  control: SandboxControl,
  reply: FastifyReply,
  entry: Omit<SandboxLogEntry, 'at'>,
  acceptedStatus: number,
): void {
  let settled = false;
  const settle = (written: boolean): void => {
    if (settled) return;
    settled = true;
    control.record(entry, { acceptedSend: written && entry.status === acceptedStatus });
  };
  reply.raw.once('finish', () => settle(true));
  reply.raw.once('close', () => settle(reply.raw.writableFinished));
  // The client gave up while the request was handled (scenario latency): 'close' already fired.
  if (reply.raw.destroyed || reply.raw.socket === null || reply.raw.socket.destroyed) settle(false);
}

export function createEmulatorResponder(
  control: SandboxControl,
  provider: ProviderId,
  opts: { acceptedStatus: number; contentType?: string; channel?: Channel },
): EmulatorResponder {
  const contentType = opts.contentType ?? 'application/json';
  return (reply, request, status, body, log, headers = {}) => {
    const entry: Omit<SandboxLogEntry, 'at'> = { provider, method: request.method, path: request.url.split('?')[0] ?? request.url, status };
    if (log.to !== undefined) entry.to = log.to;
    if (log.reference !== undefined) entry.reference = log.reference;
    if (log.body !== undefined && status === opts.acceptedStatus) entry.body = log.body;
    if (log.content !== undefined && status === opts.acceptedStatus) entry.content = log.content;
    const channel = log.channel ?? opts.channel;
    if (channel !== undefined) entry.channel = channel;
    recordWhenDone(control, reply, entry, opts.acceptedStatus);
    return reply.code(status).headers(headers).type(contentType).send(body);
  };
}
