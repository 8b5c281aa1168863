/**
 * Our own small, typed client for MessageBird's REST messages and HLR APIs (reference §3.1, §3.4).
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
  /** Why a recipient is in its status (`successfully delivered`, `unknown subscriber`…), as in status reports. */
  statusReason?: string;
  /** The GSM/MAP error code behind a failure, as in status reports. */
  statusErrorCode?: number | string | null;
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
    const detail =
      first === undefined
        ? `HTTP ${status}`
        : errors.map((e) => `${e.description} (code: ${e.code}${e.parameter === null ? '' : `, parameter: ${e.parameter}`})`).join('; ');
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

/** The JSON body of `POST /hlr` (reference §3.4). */
export interface MessageBirdCreateHlr {
  /** MSISDN without the `+`. */
  msisdn: string;
  /** Client reference, echoed on the HLR. */
  reference?: string;
}

/** `details` of a resolved HLR (reference §3.4); MessageBird sends `[]` until the HLR resolves. */
export interface MessageBirdHlrDetails {
  status_desc?: string;
  imsi?: string;
  country_iso?: string;
  country_name?: string;
  location_msc?: string;
  location_iso?: string;
  /** 0/1 on the wire. */
  ported?: number | boolean;
  /** 0/1 on the wire. */
  roaming?: number | boolean;
}

/** An HLR resource: `status` is `sent` until the network answers, then `active | absent | unknown | failed`. */
export interface MessageBirdHlr {
  id: string;
  href?: string;
  msisdn?: number | string;
  /** MCC+MNC as an integer, `null` until resolved. */
  network: number | null;
  reference?: string | null;
  status: string;
  createdDatetime?: string;
  statusDatetime?: string;
  details?: MessageBirdHlrDetails;
}

/** The calls Switchboard makes. */
export interface MessageBirdClient {
  /** `POST /messages`; rejects with `MessageBirdApiError`, `MessageBirdResponseError` or fetch's own errors. */
  createMessage(params: MessageBirdCreateMessage, signal?: AbortSignal): Promise<MessageBirdMessage>;
  /** `GET /messages/{id}`: the message with each recipient's current status; rejects like `createMessage`. */
  getMessage(id: string, signal?: AbortSignal): Promise<MessageBirdMessage>;
  /** `POST /hlr` → 201 with status `sent`; rejects like `createMessage`. */
  createHlr(params: MessageBirdCreateHlr, signal?: AbortSignal): Promise<MessageBirdHlr>;
  /** `GET /hlr/{id}`; rejects like `createMessage`. */
  getHlr(id: string, signal?: AbortSignal): Promise<MessageBirdHlr>;
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
      const parsed: MessageBirdRecipientItem = {
        recipient: typeof recipient === 'number' || typeof recipient === 'string' ? recipient : '',
        status: item['status'],
      };
      if (typeof item['statusDatetime'] === 'string') parsed.statusDatetime = item['statusDatetime'];
      if (typeof item['messagePartCount'] === 'number') parsed.messagePartCount = item['messagePartCount'];
      if (typeof item['statusReason'] === 'string') parsed.statusReason = item['statusReason'];
      const code = item['statusErrorCode'];
      if (typeof code === 'number' || typeof code === 'string') parsed.statusErrorCode = code;
      items.push(parsed);
    }
    message.recipients = { items };
    if (typeof recipients['totalCount'] === 'number') message.recipients.totalCount = recipients['totalCount'];
  }
  return message;
}

function asHlr(value: unknown): MessageBirdHlr | undefined {
  if (!isRecord(value) || typeof value['id'] !== 'string' || value['id'] === '' || typeof value['status'] !== 'string') return undefined;
  const network = value['network'];
  const hlr: MessageBirdHlr = {
    id: value['id'],
    status: value['status'],
    network: typeof network === 'number' ? network : typeof network === 'string' && /^\d+$/.test(network) ? Number(network) : null,
  };
  if (typeof value['href'] === 'string') hlr.href = value['href'];
  if (typeof value['msisdn'] === 'number' || typeof value['msisdn'] === 'string') hlr.msisdn = value['msisdn'];
  if (typeof value['reference'] === 'string') hlr.reference = value['reference'];
  if (typeof value['createdDatetime'] === 'string') hlr.createdDatetime = value['createdDatetime'];
  if (typeof value['statusDatetime'] === 'string') hlr.statusDatetime = value['statusDatetime'];
  const details = value['details'];
  if (isRecord(details)) {
    const d: MessageBirdHlrDetails = {};
    for (const key of ['status_desc', 'imsi', 'country_iso', 'country_name', 'location_msc', 'location_iso'] as const) {
      const v = details[key];
      if (typeof v === 'string') d[key] = v;
    }
    for (const key of ['ported', 'roaming'] as const) {
      const v = details[key];
      if (typeof v === 'number' || typeof v === 'boolean') d[key] = v;
    }
    hlr.details = d;
  }
  return hlr;
}

/** Creates the client. No retries: Switchboard's router fails over instead (DESIGN §5). */
export function createMessageBirdClient(options: MessageBirdClientOptions): MessageBirdClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const authorization = `AccessKey ${options.accessKey}`;
  const userAgent = `Switchboard (MessageBird REST client) Node.js/${process.version}`;

  /** One JSON call: non-2xx → `MessageBirdApiError`; a 2xx that is not JSON → `MessageBirdResponseError`. */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; value: unknown }> {
    const headers: Record<string, string> = { authorization, accept: 'application/json', 'user-agent': userAgent };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: 'manual',
      ...(signal === undefined ? {} : { signal }),
    });
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) {
      throw new MessageBirdApiError(res.status, parseMessageBirdErrors(text), res.headers.get('retry-after') ?? undefined);
    }
    try {
      return { status: res.status, value: JSON.parse(text) };
    } catch {
      throw new MessageBirdResponseError(res.status, `messagebird: HTTP ${res.status} with a body that is not JSON`);
    }
  }

  return {
    async createMessage(params, signal) {
      const { status, value } = await call('POST', '/messages', params, signal);
      const message = asMessage(value);
      if (message === undefined) throw new MessageBirdResponseError(status, `messagebird: HTTP ${status} without a message id`);
      return message;
    },
    async getMessage(id, signal) {
      const { status, value } = await call('GET', `/messages/${encodeURIComponent(id)}`, undefined, signal);
      const message = asMessage(value);
      if (message === undefined) throw new MessageBirdResponseError(status, `messagebird: HTTP ${status} without a message id`);
      return message;
    },
    async createHlr(params, signal) {
      const { status, value } = await call('POST', '/hlr', params, signal);
      const hlr = asHlr(value);
      if (hlr === undefined) throw new MessageBirdResponseError(status, `messagebird: HTTP ${status} without an HLR id and status`);
      return hlr;
    },
    async getHlr(id, signal) {
      const { status, value } = await call('GET', `/hlr/${encodeURIComponent(id)}`, undefined, signal);
      const hlr = asHlr(value);
      if (hlr === undefined) throw new MessageBirdResponseError(status, `messagebird: HTTP ${status} without an HLR id and status`);
      return hlr;
    },
  };
}
