/**
 * The page shell of every console page: navigation, the shipped stylesheet, nothing from the web.
 * No script at all: every page works as plain HTML (forms and links), so the console runs in any
 * browser an operator has, behind any proxy, with JavaScript off.
 */
import { html, type SafeHtml } from './html.ts';

/** Where the console lives; every path under it is guarded by the admin key. */
export const CONSOLE_BASE_PATH = '/console';

export type ConsoleSection = 'messages' | 'carriers' | 'webhooks';

const NAV: ReadonlyArray<{ section: ConsoleSection; href: string; label: string }> = [
  { section: 'messages', href: `${CONSOLE_BASE_PATH}/messages`, label: 'Messages' },
  { section: 'carriers', href: `${CONSOLE_BASE_PATH}/carriers`, label: 'Carriers' },
  { section: 'webhooks', href: `${CONSOLE_BASE_PATH}/webhooks`, label: 'Webhooks' },
];

/** A whole page around `body`. */
export function renderPage(opts: { title: string; section?: ConsoleSection; body: SafeHtml; notice?: string }): string {
  const nav = NAV.map((n) => html`<a href="${n.href}" class="${n.section === opts.section ? 'current' : ''}">${n.label}</a>`);
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${opts.title} · Switchboard console</title>
        <link rel="stylesheet" href="${CONSOLE_BASE_PATH}/assets/console.css" />
      </head>
      <body>
        <header class="top">
          <span class="brand">Switchboard console</span>${nav}<a href="/admin/queues">Queues</a><a href="/docs">API docs</a>
        </header>
        <main>${opts.notice !== undefined ? html`<div class="notice" role="status">${opts.notice}</div>` : ''} ${opts.body}</main>
      </body>
    </html> `.value;
}

/** A status pill; the class is built from a closed vocabulary, the text escaped like any other. */
export function statusPill(status: string): SafeHtml {
  const cls = /^[a-z_]+$/.test(status) ? `status status-${status}` : 'status';
  return html`<span class="${cls}" data-status="${status}">${status}</span>`;
}

/** ISO time shortened for tables ("2026-12-02 16:41:06.123Z"). */
export function shortTime(iso: string | undefined): string {
  if (iso === undefined) return '';
  return iso.replace('T', ' ');
}
