import { createVerify, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GOOGLE_TOKEN_URL,
  JWT_BEARER_GRANT_TYPE,
  RBM_OAUTH_SCOPE,
  buildJwtAssertion,
  createServiceAccountTokenProvider,
  parseGoogleServiceAccount,
  staticTokenProvider,
} from './rbm.token.ts';
import type { GoogleServiceAccountKey } from './rbm.token.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key: GoogleServiceAccountKey = {
  client_email: 'switchboard@demo-project.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  private_key_id: 'key-1',
};

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('buildJwtAssertion', () => {
  it('builds an RS256 JWT with the service account as issuer, the RBM scope and the token URL as audience, valid one hour', () => {
    const now = new Date('2025-01-02T03:04:05Z');
    const jwt = buildJwtAssertion(key, { scope: RBM_OAUTH_SCOPE, audience: GOOGLE_TOKEN_URL, now });
    const [header, claims, signature] = jwt.split('.');
    expect(decodePart(header)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
    const iat = Math.floor(now.getTime() / 1000);
    expect(decodePart(claims)).toEqual({
      iss: key.client_email,
      scope: 'https://www.googleapis.com/auth/rcsbusinessmessaging',
      aud: 'https://oauth2.googleapis.com/token',
      iat,
      exp: iat + 3600,
    });
    const verified = createVerify('RSA-SHA256')
      .update(`${header}.${claims}`)
      .verify(publicKey, Buffer.from(signature ?? '', 'base64url'));
    expect(verified).toBe(true);
  });

  it('omits kid when the key has no private_key_id', () => {
    const { private_key_id: _unused, ...withoutId } = key;
    expect(decodePart(buildJwtAssertion(withoutId, { scope: RBM_OAUTH_SCOPE, audience: GOOGLE_TOKEN_URL }).split('.')[0])).toEqual({
      alg: 'RS256',
      typ: 'JWT',
    });
  });

  it('throws for a private key that cannot sign', () => {
    expect(() => buildJwtAssertion({ ...key, private_key: 'not a pem' }, { scope: RBM_OAUTH_SCOPE, audience: GOOGLE_TOKEN_URL })).toThrow();
  });
});

describe('parseGoogleServiceAccount', () => {
  it('reads client_email, private_key and the optional key id and token URI', () => {
    const json = JSON.stringify({ type: 'service_account', ...key, token_uri: 'https://oauth2.googleapis.com/token', project_id: 'demo' });
    expect(parseGoogleServiceAccount(json)).toEqual({ ...key, token_uri: 'https://oauth2.googleapis.com/token' });
  });

  it.each([
    ['not json', 'serviceAccount must be the JSON of a service-account key file'],
    ['[]', 'serviceAccount must be a JSON object'],
    [JSON.stringify({ private_key: 'x' }), 'serviceAccount has no "client_email"'],
    [JSON.stringify({ client_email: 'a@b' }), 'serviceAccount has no "private_key"'],
  ])('explains why %s is not a key', (json, why) => {
    expect(parseGoogleServiceAccount(json)).toBe(why);
  });
});

describe('createServiceAccountTokenProvider against a loopback token endpoint', () => {
  let tokenUrl: string;
  const grants: { contentType: string | undefined; body: URLSearchParams }[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  let issued = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      grants.push({ contentType: req.headers['content-type'], body: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
      issued += 1;
      const body = answer.status === 200 ? { access_token: `ya29.token-${issued}`, expires_in: 3599, token_type: 'Bearer' } : answer.body;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('exchanges a signed assertion for a token with the JWT-bearer grant, then caches it', async () => {
    grants.length = 0;
    answer = { status: 200, body: {} };
    const tokens = createServiceAccountTokenProvider(key, { scope: RBM_OAUTH_SCOPE, tokenUrl, timeoutMs: 2_000 });
    const [a, b] = await Promise.all([tokens.getAccessToken(), tokens.getAccessToken()]);
    expect(a).toMatch(/^ya29\.token-\d+$/);
    expect(b).toBe(a);
    expect(await tokens.getAccessToken()).toBe(a);
    expect(grants).toHaveLength(1);
    const grant = grants[0];
    expect(grant?.contentType).toBe('application/x-www-form-urlencoded');
    expect(grant?.body.get('grant_type')).toBe(JWT_BEARER_GRANT_TYPE);
    const [, claims] = (grant?.body.get('assertion') ?? '').split('.');
    expect(decodePart(claims)).toMatchObject({ iss: key.client_email, scope: RBM_OAUTH_SCOPE, aud: tokenUrl });
  });

  it('mints a new token after invalidate() and once the cached one is within a minute of expiry', async () => {
    grants.length = 0;
    answer = { status: 200, body: {} };
    let clock = Date.parse('2025-01-01T00:00:00Z');
    const tokens = createServiceAccountTokenProvider(key, { scope: RBM_OAUTH_SCOPE, tokenUrl, timeoutMs: 2_000, now: () => clock });
    const first = await tokens.getAccessToken();
    clock += 3_000_000;
    expect(await tokens.getAccessToken()).toBe(first);
    clock += 540_000;
    const second = await tokens.getAccessToken();
    expect(second).not.toBe(first);
    tokens.invalidate?.();
    expect(await tokens.getAccessToken()).not.toBe(second);
    expect(grants).toHaveLength(3);
  });

  it("rejects with Google's error when the grant is refused", async () => {
    answer = { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
    const tokens = createServiceAccountTokenProvider(key, { scope: RBM_OAUTH_SCOPE, tokenUrl, timeoutMs: 2_000 });
    await expect(tokens.getAccessToken()).rejects.toThrow('rbm: token endpoint answered HTTP 400 (invalid_grant: Invalid JWT Signature.)');
  });
});

describe('staticTokenProvider', () => {
  it('always answers its token', async () => {
    expect(await staticTokenProvider('fixed').getAccessToken()).toBe('fixed');
  });
});
