import { describe, expect, it } from 'vitest';
import { escapeHtml, html, trustedHtml } from './html.ts';

describe('html', () => {
  it('escapes every interpolated value, nested lists included, and keeps safe markup as it is', () => {
    const evil = `<script>alert("x")</script>' \``;
    const out = html`<p title="${evil}">${[evil, html`<b>${evil}</b>`]}${trustedHtml('<hr>')}${undefined}${false}${3}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; ' +
        '&#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; ' +
        '&#96;<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &#96;</b><hr>3</p>',
    );
  });

  it('escapes ampersands first, so entities are not double-decoded', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });
});
