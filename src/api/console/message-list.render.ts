/**
 * The console's message search page: the form (every filter of {@link consoleMessageQuerySchema})
 * and the matching messages, numbers masked as everywhere else in the API.
 */
import type { MessageRecord } from '../../domain/message.ts';
import { maskPhone } from '../../domain/mask.ts';
import { CONSOLE_BASE_PATH, renderPage, shortTime, statusPill } from './console-layout.render.ts';
import { html, type SafeHtml } from './html.ts';
import type { SearchResult } from './message-search.ts';

/** The form's values as typed (strings), so a search shows what was asked. */
export type RawQuery = Readonly<Record<string, string | undefined>>;

const STATUSES = ['accepted', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'expired'];
const CHANNELS = ['push', 'whatsapp', 'rcs', 'sms', 'voice'];

function select(name: string, label: string, options: readonly string[], current: string | undefined): SafeHtml {
  return html`<label
    >${label}<select name="${name}">
      <option value="">any</option>
      ${options.map((o) => html`<option value="${o}" ${o === current ? html` selected` : ''}>${o}</option>`)}
    </select></label
  >`;
}

function input(name: string, label: string, current: string | undefined, placeholder: string, type = 'text'): SafeHtml {
  return html`<label>${label}<input type="${type}" name="${name}" value="${current ?? ''}" placeholder="${placeholder}" /></label>`;
}

function row(m: MessageRecord): SafeHtml {
  const current = m.attempts.find((a) => a.status === 'delivered') ?? m.attempts[m.attempts.length - 1];
  const ladder = m.attempts.map((a) => `${a.channel}/${a.provider}`).join(' → ');
  const meta = m.metadata !== undefined && Object.keys(m.metadata).length > 0 ? JSON.stringify(m.metadata) : '';
  return html`<tr data-message-id="${m.id}">
    <td><a class="mono" href="${CONSOLE_BASE_PATH}/messages/${m.id}">${m.id}</a></td>
    <td>${shortTime(m.createdAt)}</td>
    <td class="mono">${maskPhone(m.to)}</td>
    <td>${statusPill(m.status)}${m.verifiedAt !== undefined ? html` <span class="status status-delivered">verified</span>` : ''}</td>
    <td>${current?.channel ?? ''}</td>
    <td>${current?.provider ?? ''}</td>
    <td class="muted">${ladder}</td>
    <td>${m.keyName}</td>
    <td class="mono muted">${meta.length > 80 ? `${meta.slice(0, 77)}…` : meta}</td>
  </tr>`;
}

/**
 * The search page: form, then results (or an empty state). A searched number is never echoed
 * back in clear, only masked (`searchedNumber`), like everywhere else the API shows one.
 */
export function renderMessageList(
  q: RawQuery,
  result: SearchResult | undefined,
  providers: readonly string[],
  searchedNumber?: string,
): string {
  const filters = Object.fromEntries(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const next = result?.nextCursor
    ? `${CONSOLE_BASE_PATH}/messages?${new URLSearchParams({ ...filters, cursor: result.nextCursor }).toString()}`
    : undefined;
  const via =
    result?.via === 'number'
      ? `to ${searchedNumber ?? 'the number'} (found by its phone token in the audit stream)`
      : result?.via === 'id'
        ? 'by id'
        : 'newest first';
  const body = html`<h1>Messages</h1>
    <section class="card">
      <form class="search" method="get" action="${CONSOLE_BASE_PATH}/messages">
        ${input('id', 'Message id', q['id'], 'msg_…')} ${input('to', 'Number', undefined, searchedNumber ?? '+14155550100')}
        ${input('country', 'Country (national numbers)', q['country'], 'US')} ${select('status', 'Status', STATUSES, q['status'])}
        ${select('channel', 'Channel', CHANNELS, q['channel'])} ${select('provider', 'Provider', providers, q['provider'])}
        ${input('since', 'Since (UTC)', q['since'], '2026-01-31T08:00')} ${input('until', 'Until (UTC)', q['until'], '2026-01-31T09:00')}
        ${input('key', 'API key', q['key'], 'sandbox')} ${input('meta', 'Metadata field=value', q['meta'], 'tenant=acme')}
        <button type="submit">Search</button>
      </form>
    </section>
    <section class="card">
      <p class="muted">${result ? `${result.items.length} message(s), ${via}` : ''}</p>
      ${
        result && result.items.length > 0
          ? html`<table id="messages">
              <thead>
                <tr>
                  <th>Id</th>
                  <th>Created</th>
                  <th>To</th>
                  <th>Status</th>
                  <th>Channel</th>
                  <th>Provider</th>
                  <th>Ladder</th>
                  <th>Key</th>
                  <th>Metadata</th>
                </tr>
              </thead>
              <tbody>
                ${result.items.map(row)}
              </tbody>
            </table>`
          : html`<p>No message matches.</p>`
      }
      ${next !== undefined ? html`<p class="pager"><a id="next-page" href="${next}">Older messages →</a></p>` : ''}
    </section>`;
  return renderPage({ title: 'Messages', section: 'messages', body });
}
