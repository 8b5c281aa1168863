/**
 * Our own small, typed client for MessageBird's REST messages API (reference §3.1).
 *
 * The official `messagebird@4.0.1` SDK is frozen: it hard-codes `https://rest.messagebird.com`,
 * has no proxy or base-URL option and is callback-only (reference §0, §3.0). Redirecting it would
 * mean patching `https.request` process-wide, so Switchboard calls the API itself with Node's
 * `fetch`: base URL from config, an `AbortSignal` per call, and the response headers
 * (`Retry-After`) that the SDK would drop. The package is still used to verify webhooks.
 */

/** The JSON body of `POST /messages` as Switchboard sends it. */
export interface MessageBirdCreateMessage {
  /** MSISDNs without the `+` (MessageBird's format). */
  recipients: string[];
  originator: string;
  body: string;
  /** Echoed in status reports; "required for a status report webhook to be sent" (SDK typings). */
  reference?: string;
  /** Per-message status report URL (GET). */
  reportUrl?: string;
  /** Seconds MessageBird keeps trying. */
  validity?: number;
  /** `auto` switches to unicode only when the text needs it. */
  datacoding?: 'plain' | 'unicode' | 'auto';
}

/** One recipient of a message resource (reference §3.1). */
export interface MessageBirdRecipientItem {
  recipient: number | string;
  status: string;
  statusDatetime?: string | null;
  messagePartCount?: number;
}

/** The message resource MessageBird answers with (the fields Switchboard reads). */
export interface MessageBirdMessage {
  id: string;
  href?: string;
  reference?: string | null;
  createdDatetime?: string | null;
  recipients?: { totalCount?: number; items?: MessageBirdRecipientItem[] };
}

/** One entry of MessageBird's `{"errors":[…]}` body (reference §3.1). */
export interface MessageBirdApiErrorEntry {
  code: number;
  description: string;
  parameter: string | null;
}

/** A non-2xx answer from the API, with what the classifier needs. */
export class MessageBirdApiError extends Error {
  readonly status: number;
  readonly errors: readonly MessageBirdApiErrorEntry[];
  readonly retryAfter: string | undefined;

  constructor(status: number, errors: readonly MessageBirdApiErrorEntry[], retryAfter: string | undefined) {
    const first = errors[0];
    const detail = first === undefined ? `HTTP ${status}` : errors.map((e) => `${e.description} (code: ${e.code}${e.parameter === null ? '' : `, parameter: ${e.parameter}`})`).join('; ');
    super(`api error(s): ${detail}`);
    this.name = 'MessageBirdApiError';
    this.status = status;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

/** A 2xx answer whose body is not a message resource: the request reached MessageBird. */
export class MessageBirdResponseError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'MessageBirdResponseError';
    this.status = status;
  }
}

/** Where and as whom {@link createMessageBirdClient} calls. */
export interface MessageBirdClientOptions {
  /** Origin (and optional path prefix) of the REST API, e.g. `https://rest.messagebird.com`. */
  baseUrl: string;
  accessKey: string;
}

/** The one call Switchboard makes; more (HLR) can join it without touching the adapter. */
export interface MessageBirdClient {
  /** `POST /messages`; rejects with `MessageBirdApiError`, `MessageBirdResponseError` or fetch's own errors. */
  createMessage(params: MessageBirdCreateMessage, signal?: AbortSignal): Promise<MessageBirdMessage>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads `{"errors":[…]}`, keeping only well-formed entries; `[]` for anything else. */
export function parseMessageBirdErrors(text: string): MessageBirdApiErrorEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!isRecord(value) || !Array.isArray(value['errors'])) return [];
  const out: MessageBirdApiErrorEntry[] = [];
  for (const entry of value['errors']) {
    if (!isRecord(entry) || typeof entry['code'] !== 'number') continue;
    out.push({
      code: entry['code'],
      description: typeof entry['description'] === 'string' ? entry['description'] : '',
      parameter: typeof entry['parameter'] === 'string' ? entry['parameter'] : null,
    });
  }
  return out;
}

function asMessage(value: unknown): MessageBirdMessage | undefined {
  if (!isRecord(value) || typeof value['id'] !== 'string' || value['id'] === '') return undefined;
  const message: MessageBirdMessage = { id: value['id'] };
  if (typeof value['href'] === 'string') message.href = value['href'];
  if (typeof value['reference'] === 'string') message.reference = value['reference'];
  if (typeof value['createdDatetime'] === 'string') message.createdDatetime = value['createdDatetime'];
  const recipients = value['recipients'];
  if (isRecord(recipients)) {
    const items: MessageBirdRecipientItem[] = [];
    for (const item of Array.isArray(recipients['items']) ? recipients['items'] : []) {
      if (!isRecord(item) || typeof item['status'] !== 'string') continue;
      const recipient = item['recipient'];
      const parsed: MessageBirdRecipientItem = { recipient: typeof recipient === 'number' || typeof recipient === 'string' ? recipient : '', status: item['status'] };
      if (typeof item['statusDatetime'] === 'string') parsed.statusDatetime = item['statusDatetime'];
      if (typeof item['messagePartCount'] === 'number') parsed.messagePartCount = item['messagePartCount'];
      items.push(parsed);
    }
    message.recipients = { items };
    if (typeof recipients['totalCount'] === 'number') message.recipients.totalCount = recipients['totalCount'];
  }
  return message;
}

/** Creates the client. No retries: Switchboard's router fails over instead (DESIGN §5). */
export function createMessageBirdClient(options: MessageBirdClientOptions): MessageBirdClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const authorization = `AccessKey ${options.accessKey}`;
  const userAgent = `Switchboard (MessageBird REST client) Node.js/${process.version}`;

  return {
    async createMessage(params, signal) {
      const res = await fetch(`${base}/messages`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json', 'user-agent': userAgent },
        body: JSON.stringify(params),
        redirect: 'manual',
        ...(signal === undefined ? {} : { signal }),
      });
      const text = await res.text();
      if (res.status < 200 || res.status >= 300) {
        throw new MessageBirdApiError(res.status, parseMessageBirdErrors(text), res.headers.get('retry-after') ?? undefined);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new MessageBirdResponseError(res.status, `messagebird: HTTP ${res.status} with a body that is not JSON`);
      }
      const message = asMessage(value);
      if (message === undefined) throw new MessageBirdResponseError(res.status, `messagebird: HTTP ${res.status} without a message id`);
      return message;
    },
  };
}
