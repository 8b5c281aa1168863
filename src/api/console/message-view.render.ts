/**
 * One message as a picture (CONTRACTS §3 `/console/messages/:id`): a lane per attempt on a shared
 * time axis, then every attempt's channel, provider and status, the routing candidates with prices
 * and scores, costs, the webhook deliveries with the answers they got, the timeline and the audit
 * entries. The number is masked; the code and the text are never shown.
 */
import type { MessageRecord } from '../../domain/message.ts';
import { maskPhone } from '../../domain/mask.ts';
import type { AuditRecord } from '../../store/audit.store.ts';
import type { DeliveryLogEntry } from '../../webhooks/webhook-delivery-log.store.ts';
import { CONSOLE_BASE_PATH, renderPage, shortTime, statusPill } from './console-layout.render.ts';
import { displayUrl } from './display-url.ts';
import { html, jsonText, type SafeHtml } from './html.ts';
import { buildPicture, fallbackText, formatDuration, type Lane, type MessagePicture } from './message-lanes.ts';

export interface MessagePageData {
  doc: MessageRecord;
  deliveries: readonly DeliveryLogEntry[];
  audit: readonly AuditRecord[];
  nowMs: number;
}

const pct = (x: number): string => `${Math.max(0, Math.min(100, x)).toFixed(2)}%`;

function lane(p: MessagePicture, l: Lane): SafeHtml {
  const at = (t: number): number => ((t - p.originMs) / p.spanMs) * 100;
  const left = at(l.startMs);
  const width = Math.max(0.4, at(l.endMs) - left);
  return html`<div class="lane" data-lane="${l.n}">
    <div class="who">
      <b>${l.channel}</b> · ${l.provider}
      ${statusPill(l.status)}${l.fallbackFrom ? html`<br /><span class="muted">after ${fallbackText(l.fallbackFrom.reason)}</span>` : ''}
    </div>
    <div class="track"></div>
    <div class="bar ch-${l.channel}" style="left:${pct(left)};width:${pct(width)}"></div>
    ${l.marks.map((m, i) => {
      // Labels of neighbouring marks alternate between two rows so close moments stay readable.
      const row = m.kind !== 'start' && i % 2 === 0 ? ' low' : '';
      return html`<div
        class="mark k-${m.kind}${at(m.atMs) > 70 ? ' flip' : ''}${row}"
        style="left:${pct(at(m.atMs))}"
        title="${new Date(m.atMs).toISOString()}"
      >
        <span>${m.label}</span>
      </div>`;
    })}
  </div>`;
}

function ladder(p: MessagePicture): SafeHtml {
  if (p.lanes.length === 0) return html`<p class="muted">No attempt yet.</p>`;
  return html`<div class="ladder" id="ladder">${p.lanes.map((l) => lane(p, l))}</div>
    <div class="axis" style="margin-left:15rem">
      <span>0 (accepted)</span><span>+${formatDuration(p.spanMs / 2)}</span><span>+${formatDuration(p.spanMs)}</span>
    </div>`;
}

function rel(p: MessagePicture, iso: string | undefined): string {
  if (iso === undefined) return '';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `+${formatDuration(t - p.originMs)}` : '';
}

type Attempt = MessageRecord['attempts'][number];

/** Why the attempt was made: the fallback that led to it (and from where), or its first choice. */
function attemptWhy(a: Attempt): string {
  if (!a.fallback) return 'first choice';
  const from = `${a.fallback.fromChannel}${a.fallback.fromProvider ? `/${a.fallback.fromProvider}` : ''}`;
  return `${fallbackText(a.fallback.reason)} (from ${from})`;
}

/** The attempt's cost, and its segment count under it when the carrier reported one. */
function attemptCost(a: Attempt): SafeHtml {
  const cost = a.cost ? `${a.cost.amount.toFixed(4)} ${a.cost.currency}` : '';
  return html`${cost}${a.segments !== undefined ? html`<br /><span class="muted">${a.segments} segment(s)</span>` : ''}`;
}

/** The attempt's error code and message, with the carrier's own code when there is one. */
function attemptError(a: Attempt): SafeHtml | string {
  if (!a.error) return '';
  const carrier = a.error.providerCode !== undefined ? html` <span class="muted">(carrier ${a.error.providerCode})</span>` : '';
  return html`<code>${a.error.code}</code> ${a.error.message}${carrier}`;
}

/** The lookup verdict in one line: line type (or invalid), provider, cache, and an error if it failed. */
function lookupText(m: MessageRecord): string {
  if (!m.lookup) return '—';
  const l = m.lookup;
  return `${l.lineType}${l.valid ? '' : ', invalid'} via ${l.provider} (${l.cache})${l.error ? `: ${l.error}` : ''}`;
}

function attemptsTable(m: MessageRecord, p: MessagePicture): SafeHtml {
  return html`<table id="attempts">
    <thead>
      <tr>
        <th>#</th>
        <th>Channel</th>
        <th>Provider</th>
        <th>Status</th>
        <th>Why</th>
        <th>Carrier id</th>
        <th>Started</th>
        <th>Sent</th>
        <th>Delivered</th>
        <th class="num">Cost</th>
        <th>Error</th>
      </tr>
    </thead>
    <tbody>
      ${m.attempts.map(
        (a) =>
          html`<tr data-attempt="${a.n}">
            <td>${a.n}</td>
            <td class="channel">${a.channel}</td>
            <td class="provider">${a.provider}</td>
            <td class="status-cell">${statusPill(a.status)}</td>
            <td>${attemptWhy(a)}</td>
            <td class="mono">${a.providerMessageId ?? ''}</td>
            <td>${rel(p, a.startedAt)}</td>
            <td>${rel(p, a.acceptedAt ?? a.sentAt)}</td>
            <td>${rel(p, a.deliveredAt)}</td>
            <td class="num">${attemptCost(a)}</td>
            <td>${attemptError(a)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function routingTable(m: MessageRecord): SafeHtml {
  const r = m.routing;
  if (r === undefined) return html`<p class="muted">No routing decision stored.</p>`;
  return html`<p>Chose <b>${r.provider}</b> (${r.reason.replaceAll('_', ' ')}).</p>
    <table id="routing">
      <thead>
        <tr>
          <th>Provider</th>
          <th class="num">List price</th>
          <th class="num">Effective price</th>
          <th class="num">Health factor</th>
          <th class="num">Score</th>
          <th>Excluded</th>
        </tr>
      </thead>
      <tbody>
        ${r.candidates.map(
          (c) =>
            html`<tr data-candidate="${c.provider}" ${c.provider === r.provider ? html` class="chosen"` : ''}>
              <td>${c.provider}${c.provider === r.provider ? ' ✓' : ''}</td>
              <td class="num">${c.price?.toFixed(4) ?? '—'}</td>
              <td class="num">${c.effectivePrice?.toFixed(4) ?? '—'}</td>
              <td class="num">${c.health?.toFixed(3) ?? '—'}</td>
              <td class="num">${c.score?.toFixed(5) ?? '—'}</td>
              <td>${c.excluded?.replaceAll('_', ' ') ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function deliveriesTable(p: MessagePicture, deliveries: readonly DeliveryLogEntry[], callbackUrl: string | undefined): SafeHtml {
  if (callbackUrl === undefined) return html`<p class="muted">This message has no callback URL: no webhook was sent.</p>`;
  if (deliveries.length === 0) return html`<p class="muted">No delivery try recorded yet (to ${displayUrl(callbackUrl)}).</p>`;
  return html`<table id="deliveries">
    <thead>
      <tr>
        <th>At</th>
        <th>Event</th>
        <th>Event id</th>
        <th>Endpoint</th>
        <th class="num">Try</th>
        <th>Outcome</th>
        <th class="num">HTTP</th>
        <th>Detail</th>
      </tr>
    </thead>
    <tbody>
      ${deliveries.map(
        (d) =>
          html`<tr>
            <td>${rel(p, d.at)}</td>
            <td>${d.type}</td>
            <td class="mono">${d.eventId}</td>
            <td class="mono">${displayUrl(d.url)}</td>
            <td class="num">${d.try}</td>
            <td>${statusPill(d.outcome)}</td>
            <td class="num">${d.status ?? ''}</td>
            <td>${d.reason ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function auditTable(p: MessagePicture, audit: readonly AuditRecord[]): SafeHtml {
  if (audit.length === 0) return html`<p class="muted">No audit entry found (the stream is capped).</p>`;
  return html`<table id="audit">
    <thead>
      <tr>
        <th>At</th>
        <th>Decision</th>
        <th>Key</th>
        <th>Channel</th>
        <th>Provider</th>
        <th>Code</th>
        <th>Detail</th>
      </tr>
    </thead>
    <tbody>
      ${[...audit].reverse().map(
        (a) =>
          html`<tr>
            <td>${rel(p, a.at)}</td>
            <td>${a.decision}</td>
            <td>${a.key ?? ''}</td>
            <td>${a.channel ?? ''}</td>
            <td>${a.provider ?? ''}</td>
            <td><code>${a.code ?? ''}</code></td>
            <td>${a.detail ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function timelineTable(m: MessageRecord, p: MessagePicture): SafeHtml {
  return html`<table id="timeline">
    <thead>
      <tr>
        <th>At</th>
        <th>What</th>
        <th>Channel</th>
        <th>Provider</th>
        <th>Detail</th>
      </tr>
    </thead>
    <tbody>
      ${m.timeline.map(
        (t) =>
          html`<tr>
            <td title="${t.at}">${rel(p, t.at)}</td>
            <td>${t.type.replaceAll('_', ' ')}</td>
            <td>${t.channel ?? ''}</td>
            <td>${t.provider ?? ''}</td>
            <td>${t.detail ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The whole message page. */
export function renderMessagePage(data: MessagePageData): string {
  const m = data.doc;
  const p = buildPicture(m, data.nowMs);
  const total = p.costs.map((c) => `${c.amount.toFixed(4)} ${c.currency}`).join(' + ') || '0';
  const body = html`<p><a href="${CONSOLE_BASE_PATH}/messages">← Messages</a></p>
    <h1>
      <span class="mono" id="message-id">${m.id}</span>
      ${statusPill(m.status)}${m.verifiedAt !== undefined ? html` <span class="status status-delivered" id="verified">verified</span>` : ''}
    </h1>
    <section class="card summary">
      <div><span>To</span><b class="mono">${maskPhone(m.to)}</b> (${m.country})</div>
      <div><span>Requested ladder</span>${m.channels.join(' → ')}</div>
      <div><span>Purpose</span>${m.purpose}</div>
      <div><span>API key</span>${m.keyName}</div>
      <div><span>Created</span>${shortTime(m.createdAt)}</div>
      <div><span>Updated</span>${shortTime(m.updatedAt)}</div>
      <div><span>Expires</span>${shortTime(m.expiresAt) || '—'}</div>
      <div><span>Verified</span>${m.verifiedAt !== undefined ? `${shortTime(m.verifiedAt)} (${rel(p, m.verifiedAt)})` : '—'}</div>
      <div><span>Total cost</span><b id="total-cost">${total}</b></div>
      <div><span>Lookup</span>${lookupText(m)}</div>
      ${m.error ? html`<div><span>Error</span><code>${m.error.code}</code> ${m.error.message}</div>` : ''}
    </section>
    <section class="card">
      <h2>Channel ladder</h2>
      ${ladder(p)}
    </section>
    <section class="card">
      <h2>Attempts</h2>
      ${m.attempts.length > 0 ? attemptsTable(m, p) : html`<p class="muted">No attempt yet.</p>`}
    </section>
    <section class="card">
      <h2>Routing</h2>
      ${routingTable(m)}
    </section>
    <section class="card">
      <h2>Webhook deliveries</h2>
      ${deliveriesTable(p, data.deliveries, m.callbackUrl)}
    </section>
    <section class="card">
      <h2>Timeline</h2>
      ${timelineTable(m, p)}
    </section>
    <section class="card">
      <h2>Audit</h2>
      ${auditTable(p, data.audit)}
    </section>
    <section class="card">
      <h2>Metadata</h2>
      <pre id="metadata">${jsonText(m.metadata ?? {})}</pre>
    </section>`;
  return renderPage({ title: m.id, section: 'messages', body });
}
