/**
 * The fixed baseline's worker — deliberately bare and NOT to be tuned: one BullMQ worker,
 * concurrency 50, a keep-alive agent (maxSockets 64) that POSTs each job to the sandbox's Twilio
 * Messages route form-encoded, as Twilio expects, with the sandbox's HTTP Basic credentials —
 * the same carrier endpoint the gateway's Twilio SDK calls. No SDK, no records, no breakers,
 * no routing, no events.
 *
 * Env: REDIS_URL, BASELINE_PREFIX, SANDBOX_URL, PORT (a /healthz answering once the worker is ready).
 */
import { randomInt } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { TWILIO_SANDBOX_CREDENTIALS, TWILIO_SANDBOX_FROM } from '../../providers/twilio/sandbox/twilio.sandbox.ts';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = process.env['BASELINE_PREFIX'] ?? 'sbbench-baseline';
const sandbox = new URL(process.env['SANDBOX_URL'] ?? 'http://127.0.0.1:3100');
const port = Number(process.env['PORT'] ?? 3201);

const { accountSid, authToken } = TWILIO_SANDBOX_CREDENTIALS;
const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function postToCarrier(form: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: sandbox.hostname,
        port: Number(sandbox.port || 80),
        path,
        method: 'POST',
        agent,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('carrier timeout')));
    req.on('error', reject);
    req.end(form);
  });
}

interface BaselineJob {
  to: string;
}

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
connection.on('error', () => undefined);
const worker = new Worker<BaselineJob>(
  'send',
  async (job) => {
    const form = new URLSearchParams({
      To: job.data.to,
      From: TWILIO_SANDBOX_FROM,
      Body: `Your code is ${String(randomInt(0, 1_000_000)).padStart(6, '0')}`,
      // The gateway's Twilio sends carry a StatusCallback with the message id; so do these.
      StatusCallback: `http://127.0.0.1:9/webhooks/twilio?sb=${job.id ?? ''}`,
    }).toString();
    const status = await postToCarrier(form);
    if (status !== 201) throw new Error(`carrier answered ${status}`);
  },
  { connection, prefix, concurrency: 50 },
);
worker.on('error', () => undefined);

const health = createServer((_req, res) => res.writeHead(200).end('ok'));
void worker.waitUntilReady().then(() => health.listen(port, '127.0.0.1'));

process.once('SIGTERM', () => {
  health.close();
  void worker
    .close()
    .then(() => connection.quit())
    .finally(() => process.exit(0));
});
