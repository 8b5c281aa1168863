/**
 * Named message templates (CONTRACTS §3 "Templates"): pick the text for a locale, check the
 * request's `vars` against the template's placeholders and fill them in at admission. Pure: the
 * catalogue comes from config (`templates:`), errors come back as problems for the API to answer.
 *
 * `{{code}}` is not a var: it stays in the text for the worker, which fills in the generated OTP
 * (codes never exist at admission). Right-to-left locales get Unicode bidi isolates around every
 * filled value and the code, so a Latin app name or the digits of a code are shown as one unit in
 * the right place inside Arabic text, whatever the handset's bidi heuristics.
 */

/** The placeholder the worker fills with the OTP. */
export const CODE_PLACEHOLDER = '{{code}}';

/** `{{name}}`: a letter or `_`, then letters, digits, `_`. */
const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

/** Languages written right to left (ISO 639 codes). */
const RTL_LANGUAGES = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'sd', 'yi', 'dv', 'ug', 'ckb']);

/** RIGHT-TO-LEFT MARK, FIRST STRONG ISOLATE, LEFT-TO-RIGHT ISOLATE, POP DIRECTIONAL ISOLATE. */
const RLM = '\u200F';
const FSI = '\u2068';
const LRI = '\u2066';
const PDI = '\u2069';

/** One template as config holds it: texts per locale and the locale used when none is asked for. */
export interface TemplateDefinition {
  defaultLocale: string;
  locales: Readonly<Record<string, string>>;
}

export type TemplateCatalogue = Readonly<Record<string, TemplateDefinition>>;

/** What `GET /v1/templates` lists for one template. */
export interface TemplateSummary {
  name: string;
  locales: string[];
  /** Vars a request must give (`{{code}}` excluded: the worker fills it). */
  vars: string[];
  /** Whether the text holds `{{code}}`: using it generates an OTP. */
  otp: boolean;
}

export interface TemplateProblem {
  path: string;
  message: string;
}

export type RenderResult =
  { ok: true; text: string; locale: string; otp: boolean } | { ok: false; message: string; problems: TemplateProblem[] };

/** Placeholder names in `text`, in order of first use, `code` included. */
export function placeholdersOf(text: string): string[] {
  const seen = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) seen.add(m[1] as string);
  return [...seen];
}

/** The vars of a template (its default locale's placeholders minus `code`), sorted. */
export function templateVars(def: TemplateDefinition): string[] {
  return placeholdersOf(def.locales[def.defaultLocale] ?? '')
    .filter((n) => n !== 'code')
    .sort();
}

export function templateHasCode(def: TemplateDefinition): boolean {
  return Object.values(def.locales).some((t) => t.includes(CODE_PLACEHOLDER));
}

export function isRtlLocale(locale: string): boolean {
  return RTL_LANGUAGES.has(locale.split('-')[0]?.toLowerCase() ?? '');
}

/**
 * Problems of a template definition (config validation): the default locale must exist and every
 * locale must use the same placeholders, so a request valid in one locale is valid in all.
 */
export function definitionProblems(name: string, def: TemplateDefinition): string[] {
  const problems: string[] = [];
  const base = def.locales[def.defaultLocale];
  if (base === undefined) return [`templates.${name}: defaultLocale "${def.defaultLocale}" has no text`];
  const want = placeholdersOf(base).sort().join(',');
  for (const [locale, text] of Object.entries(def.locales)) {
    const got = placeholdersOf(text).sort().join(',');
    if (got !== want)
      problems.push(`templates.${name}.locales.${locale}: placeholders {${got}} differ from the default locale's {${want}}`);
  }
  return problems;
}

export function summarize(catalogue: TemplateCatalogue): TemplateSummary[] {
  return Object.entries(catalogue)
    .map(([name, def]) => ({ name, locales: Object.keys(def.locales).sort(), vars: templateVars(def), otp: templateHasCode(def) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The locale a request gets: exact, then its language (`pt-BR` → `pt`); the default when none is asked for. */
export function pickLocale(def: TemplateDefinition, requested: string | undefined): string | undefined {
  if (requested === undefined) return def.defaultLocale;
  if (def.locales[requested] !== undefined) return requested;
  const lang = requested.split('-')[0] as string;
  if (def.locales[lang] !== undefined) return lang;
  return undefined;
}

/**
 * Renders template `name` for `locale` with `vars`. Every var must be given and none may be
 * unknown; values may not hold `{{`/`}}` (a var cannot smuggle a placeholder, `{{code}}` included).
 */
export function renderTemplate(
  catalogue: TemplateCatalogue,
  name: string,
  locale: string | undefined,
  vars: Readonly<Record<string, string | number>> | undefined,
): RenderResult {
  const def = Object.hasOwn(catalogue, name) ? catalogue[name] : undefined;
  if (def === undefined) {
    return {
      ok: false,
      message: `unknown template "${name}"; known: ${Object.keys(catalogue).sort().join(', ')} (GET /v1/templates)`,
      problems: [{ path: 'template', message: 'unknown template' }],
    };
  }
  const picked = pickLocale(def, locale);
  if (picked === undefined) {
    const known = Object.keys(def.locales).sort().join(', ');
    return {
      ok: false,
      message: `template "${name}" has no locale "${locale ?? ''}"; it has ${known}`,
      problems: [{ path: 'locale', message: `not one of ${known}` }],
    };
  }
  const text = def.locales[picked] as string;
  const wanted = placeholdersOf(text).filter((n) => n !== 'code');
  const given = vars ?? {};
  const problems: TemplateProblem[] = [];
  for (const n of wanted) if (!Object.hasOwn(given, n)) problems.push({ path: `vars.${n}`, message: 'missing' });
  for (const [n, v] of Object.entries(given)) {
    if (!wanted.includes(n))
      problems.push({
        path: `vars.${n}`,
        message:
          n === 'code'
            ? 'the code is generated; do not pass it'
            : `unknown; "${name}" takes ${wanted.length > 0 ? wanted.join(', ') : 'no vars'}`,
      });
    else if (/\{\{|\}\}/.test(String(v))) problems.push({ path: `vars.${n}`, message: 'may not contain {{ or }}' });
  }
  if (problems.length > 0) {
    return {
      ok: false,
      message: `vars do not fit template "${name}": ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
      problems,
    };
  }
  const rtl = isRtlLocale(picked);
  const filled = text.replace(PLACEHOLDER, (whole, n: string) => {
    if (n === 'code') return rtl ? `${LRI}${whole}${PDI}` : whole;
    const value = String(given[n]);
    return rtl ? `${FSI}${value}${PDI}` : value;
  });
  return {
    ok: true,
    text: rtl && !filled.startsWith(RLM) ? `${RLM}${filled}` : filled,
    locale: picked,
    otp: text.includes(CODE_PLACEHOLDER),
  };
}
