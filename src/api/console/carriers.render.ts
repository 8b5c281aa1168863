/**
 * The carriers page: live breaker states, health per provider×country (error rate, DLR success
 * and latency, with the samples they rest on), the route each country takes now and today's spend.
 */
import type { ObservedHealth } from '../../routing/health.store.ts';
import { CONSOLE_BASE_PATH, renderPage, statusPill } from './console-layout.render.ts';
import type { CarriersView, RouteRow } from './carriers.data.ts';
import { html, type SafeHtml } from './html.ts';
import { formatDuration } from './message-lanes.ts';

const percent = (x: number | undefined): string => (x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);

function breakersTable(v: CarriersView): SafeHtml {
  return html`<table id="breakers">
    <thead>
      <tr>
        <th>Provider</th>
        <th>Channel</th>
        <th>Breaker</th>
        <th>Probe allowed in</th>
      </tr>
    </thead>
    <tbody>
      ${v.breakers.map(
        (b) =>
          html`<tr data-breaker="${b.provider}:${b.channel}">
            <td>${b.provider}</td>
            <td>${b.channel}</td>
            <td class="breaker-state">${statusPill(b.status.state)}</td>
            <td>${b.status.state === 'open' ? formatDuration(b.status.halfOpenInMs) : ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function healthRow(h: ObservedHealth): SafeHtml {
  const neutral = (n: number): SafeHtml =>
    n < h.minSamples
      ? html` <span class="muted" title="routing treats fewer than ${h.minSamples} samples as neutral">(neutral)</span>`
      : html``;
  return html`<tr data-health="${h.provider}:${h.country}">
    <td>${h.provider}</td>
    <td>${h.country}</td>
    <td class="num error-rate">${percent(h.errorRate)}</td>
    <td class="num">${h.sendSamples.toFixed(1)}${neutral(h.sendSamples)}</td>
    <td class="num">${percent(h.dlrSuccess)}</td>
    <td class="num">${h.dlrLatencyMs === undefined ? '—' : formatDuration(h.dlrLatencyMs)}</td>
    <td class="num">${h.dlrSamples.toFixed(1)}${neutral(h.dlrSamples)}</td>
  </tr>`;
}

type Candidate = RouteRow['result']['decision']['candidates'][number];

/** A routing candidate as the table shows it: the provider, then why it was excluded or its score. */
function candidateText(c: Candidate): string {
  if (c.excluded !== undefined) return `${c.provider} (${c.excluded.replaceAll('_', ' ')})`;
  return c.score !== undefined ? `${c.provider} ${c.score.toFixed(5)}` : c.provider;
}

function routeRow(r: RouteRow): SafeHtml {
  const d = r.result.decision;
  const chosen = r.result.kind === 'ok' ? (r.result.ranked[0] ?? d.provider) : undefined;
  return html`<tr data-route="${r.channel}:${r.country}">
    <td>${r.country}</td>
    <td>${r.channel}</td>
    <td class="route-provider">${chosen !== undefined ? html`<b>${chosen}</b>` : html`<span class="status status-open">none</span>`}</td>
    <td>${r.result.kind === 'all_open' ? 'every breaker open' : d.reason.replaceAll('_', ' ')}</td>
    <td class="muted">${d.candidates.map(candidateText).join(' · ')}</td>
  </tr>`;
}

/** The whole carriers page. */
export function renderCarriersPage(v: CarriersView, countriesQuery: string | undefined): string {
  const body = html`<h1>Carriers</h1>
    <p class="muted">
      Read at ${new Date(v.at).toISOString()}.
      <a href="${CONSOLE_BASE_PATH}/carriers${countriesQuery !== undefined ? `?country=${encodeURIComponent(countriesQuery)}` : ''}"
        >Refresh</a
      >
    </p>
    <section class="card">
      <form method="get" action="${CONSOLE_BASE_PATH}/carriers">
        <label>Also show countries <input name="country" value="${countriesQuery ?? ''}" placeholder="GB,DE" /></label>
        <button type="submit">Show</button>
      </form>
    </section>
    <section class="card">
      <h2>Breakers</h2>
      ${breakersTable(v)}
    </section>
    <section class="card">
      <h2>Health per provider × country</h2>
      <table id="health">
        <thead>
          <tr>
            <th>Provider</th>
            <th>Country</th>
            <th class="num">Send error rate</th>
            <th class="num">Send samples</th>
            <th class="num">DLR success</th>
            <th class="num">DLR latency</th>
            <th class="num">DLR samples</th>
          </tr>
        </thead>
        <tbody>
          ${v.health.map(healthRow)}
        </tbody>
      </table>
    </section>
    <section class="card">
      <h2>Route each country takes now</h2>
      <table id="routes">
        <thead>
          <tr>
            <th>Country</th>
            <th>Channel</th>
            <th>Provider</th>
            <th>Why</th>
            <th>Candidates (score, lower wins)</th>
          </tr>
        </thead>
        <tbody>
          ${v.routes.map(routeRow)}
        </tbody>
      </table>
    </section>
    <section class="card">
      <h2>Spend today (UTC)</h2>
      <p>
        Total: <b id="spend-total">${v.spend.totals.map((t) => `${t.amount.toFixed(4)} ${t.currency}`).join(' + ') || '0'}</b>
        <span class="muted"
          >over ${v.spend.messages} message(s) created since
          ${new Date(v.spend.since).toISOString()}${v.spend.capped ? ' (the newest only: more were sent today)' : ''}</span
        >
      </p>
      ${
        v.spend.rows.length > 0
          ? html`<table id="spend">
              <thead>
                <tr>
                  <th>Provider</th>
                  <th>Country</th>
                  <th class="num">Attempts</th>
                  <th class="num">Amount</th>
                </tr>
              </thead>
              <tbody>
                ${v.spend.rows.map(
                  (r) =>
                    html`<tr>
                      <td>${r.provider}</td>
                      <td>${r.country}</td>
                      <td class="num">${r.attempts}</td>
                      <td class="num">${r.amount.toFixed(4)} ${r.currency}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : ''
      }
    </section>`;
  return renderPage({ title: 'Carriers', section: 'carriers', body });
}
