/**
 * The webhooks page: dead letters (events that exhausted their retries) with a replay button each,
 * and endpoints disabled after a 410 with an enable button each. Both buttons are plain form
 * POSTs, answered with a redirect back here.
 */
import type { DeadLetter } from '../../webhooks/dead-letter.store.ts';
import { CONSOLE_BASE_PATH, renderPage, shortTime, statusPill } from './console-layout.render.ts';
import { displayUrl } from './display-url.ts';
import { html } from './html.ts';

/** A webhook endpoint as the console lists it. */
export interface EndpointRow {
  url: string;
  state: 'enabled' | 'disabled';
  disabledAt?: string;
  reason?: string;
}

export function renderWebhooksPage(data: {
  deadLetters: readonly Omit<DeadLetter, 'item'>[];
  endpoints: readonly EndpointRow[];
  /** The opaque reference the enable form posts instead of the URL. */
  endpointRef: (url: string) => string;
  notice?: string;
}): string {
  const disabled = data.endpoints.filter((e) => e.state === 'disabled');
  const body = html`<h1>Webhooks</h1>
    <section class="card">
      <h2>Dead letters</h2>
      ${
        data.deadLetters.length === 0
          ? html`<p class="muted" id="no-dead-letters">No dead letter.</p>`
          : html`<table id="dead-letters">
              <thead>
                <tr>
                  <th>Failed</th>
                  <th>Event</th>
                  <th>Message</th>
                  <th>Endpoint</th>
                  <th>Key</th>
                  <th class="num">Tries</th>
                  <th>Last error</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                ${data.deadLetters.map(
                  (d) =>
                    html`<tr data-dead-letter="${d.eventId}">
                      <td>${shortTime(d.failedAt)}</td>
                      <td>${d.type}<br /><span class="mono muted">${d.eventId}</span></td>
                      <td><a class="mono" href="${CONSOLE_BASE_PATH}/messages/${d.messageId}">${d.messageId}</a></td>
                      <td class="mono">${displayUrl(d.url)}</td>
                      <td>${d.keyName}</td>
                      <td class="num">${d.attempts}</td>
                      <td>${d.lastError}</td>
                      <td>
                        <form class="inline" method="post" action="${CONSOLE_BASE_PATH}/webhooks/dead-letters/${d.eventId}/replay">
                          <button type="submit">Replay</button>
                        </form>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    <section class="card">
      <h2>Disabled endpoints</h2>
      ${
        disabled.length === 0
          ? html`<p class="muted" id="no-disabled-endpoints">No endpoint is disabled.</p>`
          : html`<table id="endpoints">
              <thead>
                <tr>
                  <th>Endpoint</th>
                  <th>State</th>
                  <th>Since</th>
                  <th>Why</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                ${disabled.map(
                  (e) =>
                    html`<tr data-endpoint="${displayUrl(e.url)}">
                      <td class="mono">${displayUrl(e.url)}</td>
                      <td>${statusPill(e.state)}</td>
                      <td>${shortTime(e.disabledAt)}</td>
                      <td>${e.reason ?? ''}</td>
                      <td>
                        <form class="inline" method="post" action="${CONSOLE_BASE_PATH}/webhooks/endpoints/enable">
                          <input type="hidden" name="endpoint" value="${data.endpointRef(e.url)}" /><button type="submit">Enable</button>
                        </form>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
  return renderPage({ title: 'Webhooks', section: 'webhooks', body, ...(data.notice !== undefined ? { notice: data.notice } : {}) });
}
