/**
 * HTML built so that escaping cannot be forgotten: every value interpolated into {@link html} is
 * escaped unless it is itself the output of {@link html} (or {@link trustedHtml}, reserved for
 * constant markup). Metadata, carrier error texts, URLs and API key names all come from outside the
 * console, so a page is only ever assembled through this tag.
 */

/** Markup that is already safe to emit as it is. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

/** What may be interpolated: text (escaped), numbers, safe markup, lists of these; nullish and false render nothing. */
export type HtmlValue = string | number | SafeHtml | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are trusted markup, every interpolation is escaped. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Marks constant markup as safe. Never pass it data. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Serializes a value as pretty JSON text (to be escaped by {@link html} like any text). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? '';
}
