import { createSandboxServer } from './src/sandbox/sandbox.server.ts';
import { providerModules, TWILIO_SANDBOX_CREDENTIALS } from './providers/index.ts';
const { app } = createSandboxServer({ providers: Object.values(providerModules) });
await app.listen({ host: '127.0.0.1', port: 0 });
const port = (app.server.address() as any).port;
const base = `http://127.0.0.1:${port}`;
console.log(await (await fetch(base + '/_sandbox/providers/twilio', { method: 'PUT', headers: {'content-type':'application/json'}, body: JSON.stringify({ dlr: 'none' }) })).json());
const auth = 'Basic ' + Buffer.from(TWILIO_SANDBOX_CREDENTIALS.accountSid + ':' + TWILIO_SANDBOX_CREDENTIALS.authToken).toString('base64');
// throughput check
const N = 4000; const t0 = performance.now();
const body = new URLSearchParams({ To: '+14155550100', From: '+15005550006', Body: 'Your code is 123456', StatusCallback: 'http://127.0.0.1:9/cb?sb=msg_1' }).toString();
let inflight = 0; let done = 0;
await new Promise<void>((resolve) => {
  const next = () => { if (done + inflight >= N) { if (inflight === 0) resolve(); return; } inflight++;
    fetch(`${base}/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body })
      .then(r => r.arrayBuffer()).then(() => { inflight--; done++; next(); }); };
  for (let i = 0; i < 50; i++) next();
});
console.log('req/s', Math.round(N / ((performance.now() - t0) / 1000)));
console.log(await (await fetch(base + '/_sandbox/providers/twilio')).json());
await app.close();
