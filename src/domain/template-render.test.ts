import { describe, expect, it } from 'vitest';
import { BUILT_IN_TEMPLATES, configSchema } from '../config/config.schema.ts';
import { definitionProblems, renderTemplate, summarize } from './template-render.ts';

describe('template rendering', () => {
  it('ships the built-in templates in en, es, fr, de, pt, hi and ar with the same placeholders in every locale', () => {
    for (const [name, def] of Object.entries(BUILT_IN_TEMPLATES)) {
      expect(Object.keys(def.locales)).toEqual(expect.arrayContaining(['en', 'es', 'fr', 'de', 'pt', 'hi', 'ar']));
      expect(definitionProblems(name, def)).toEqual([]);
    }
  });

  it('fills each var once, without re-reading filled values as placeholders', () => {
    const r = renderTemplate({ t: { defaultLocale: 'en', locales: { en: '{{a}} and {{b}}' } } }, 't', undefined, { a: '{b}', b: 2 });
    expect(r).toEqual({ ok: true, text: '{b} and 2', locale: 'en', otp: false });
  });

  it('isolates values and the code in right-to-left text', () => {
    const r = renderTemplate({ t: { defaultLocale: 'ar', locales: { ar: 'رمز {{app}}: {{code}}' } } }, 't', 'ar', { app: 'Acme' });
    expect(r).toEqual({ ok: true, text: '\u200Fرمز \u2068Acme\u2069: \u2066{{code}}\u2069', locale: 'ar', otp: true });
  });

  it('does not treat inherited object keys as templates or vars', () => {
    expect(renderTemplate(BUILT_IN_TEMPLATES, 'constructor', undefined, undefined)).toMatchObject({ ok: false });
    expect(renderTemplate(BUILT_IN_TEMPLATES, 'login-alert', 'en', { app: 'a', device: 'b', toString: 'x' })).toMatchObject({ ok: false });
  });

  it('refuses a configured template whose locales use different placeholders', () => {
    const base = { mode: 'sandbox' };
    expect(() => configSchema.parse({ ...base, templates: { bad: { locales: { en: 'Hi {{name}}', fr: 'Salut' } } } })).toThrow(
      /placeholders/,
    );
    const ok = configSchema.parse({ ...base, templates: { otp: { locales: { it: 'Il tuo codice è {{code}}.' } } } });
    expect(summarize(ok.templates).find((t) => t.name === 'otp')?.locales).toContain('it');
  });
});
