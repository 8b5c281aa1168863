/**
 * The consumers: `send` (the pipeline and push fallback checks), `dlr` (carrier callbacks) and the
 * watch poller (each message's deadline watch). In workers/, above the pipeline whose processors
 * it runs; queues/ below keeps what the pipeline itself uses (names, job types, producers, connections).
 * Short locks on `send` (DESIGN §7): a killed worker's OTP is picked up again within 5–15 s.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { RawJobInFlightError, type RawAdmission } from '../pipeline/admit.stage.ts';
import type { RedisClient } from '../store/redis-client.ts';
import { maskPhonesInText, type Logger } from '../logger.ts';
import { processDlrJob } from '../pipeline/dlr-job.processor.ts';
import type { PipelineDeps } from '../pipeline/pipeline-deps.ts';
import { processFallbackCheck } from '../pipeline/push.stage.ts';
import { processSendJob } from '../pipeline/send-job.processor.ts';
import { processSendBatch } from '../pipeline/send-batch-job.processor.ts';
import {
  isInternalSendJob,
  rawJobProblems,
  settledRawJob,
  type RawSendJobEnvelope,
  type RawSendJobResult,
} from '../admission/raw-job.schema.ts';
import { processWatchJob } from '../pipeline/watch-job.processor.ts';
import { WatchPoller } from './watch-poller.ts';
import { ConcurrencyGate } from './concurrency-gate.ts';
import {
  QUEUE_NAMES,
  type DlrJobData,
  type FallbackCheckJobData,
  type SendBatchJobData,
  type SendJobData,
  type SendQueueJobData,
  type SendQueueJobName,
  type WatchJobData,
} from '../queues/queue-names.ts';

export class WorkerSet {
  readonly send: Worker<SendQueueJobData, RawSendJobResult | undefined, SendQueueJobName>;
  readonly dlr: Worker<DlrJobData, void, 'dlr'>;
  /** Fires each open message's deadline watch from the watch schedule (not a queue: see watch-poller.ts). */
  readonly watches: WatchPoller;

  constructor(deps: PipelineDeps, connection: RedisClient, admitRaw?: RawAdmission) {
    const { config, log } = deps;
    const prefix = config.redis.prefix;
    const batchGate = new ConcurrencyGate(config.send.concurrency);
    this.send = new Worker<SendQueueJobData, RawSendJobResult | undefined, SendQueueJobName>(
      QUEUE_NAMES.send,
      async (job: Job<SendQueueJobData, RawSendJobResult | undefined, SendQueueJobName>, token?: string) => {
        if (job.name === 'fallback-check') {
          const data = job.data as FallbackCheckJobData;
          await processFallbackCheck(deps, data.messageId, data.attempt, data.ackTimeoutMs);
          return undefined;
        }
        // Delayed watch jobs queued before watches moved to the watch schedule: they still fire.
        if (job.name === 'watch' || job.name === 'expire') {
          const next = await processWatchJob(deps, job.data as WatchJobData);
          if (next.kind === 'done') return;
          // Same job, next deadline: its back-off state rides in its data.
          await job.updateData(next.data);
          // Deadlines are on the pipeline's clock; BullMQ delays on the wall clock.
          await job.moveToDelayed(Date.now() + Math.max(0, next.nextAt - deps.now()), token);
          throw new DelayedError();
        }
        if (job.name === 'send-batch') {
          const { messageIds } = job.data as SendBatchJobData;
          await processSendBatch({ ...deps, log: deps.log.child({ queue: 'send', jobId: job.id }) }, messageIds, {
            rerun: job.attemptsMade > 0 || job.stalledCounter > 0,
            gate: batchGate,
          });
          return undefined;
        }
        if (!isInternalSendJob(job.name, job.data))
          return processRawJob(job as unknown as Job<unknown, RawSendJobResult>, token, deps.log, admitRaw);
        const { messageId } = job.data as SendJobData;
        const log = deps.log.child({ queue: 'send', jobId: job.id, messageId, run: job.attemptsMade + 1 });
        await processSendJob({ ...deps, log }, messageId, {
          attemptsMade: job.attemptsMade,
          maxRuns: job.opts.attempts ?? 1,
          async delay(ms: number): Promise<never> {
            await job.moveToDelayed(Date.now() + ms, token);
            throw new DelayedError();
          },
        });
        return undefined;
      },
      {
        connection,
        prefix,
        concurrency: config.send.concurrency,
        lockDuration: config.send.lockDurationMs,
        stalledInterval: config.send.stalledIntervalMs,
        maxStalledCount: 3,
      },
    );
    this.dlr = new Worker<DlrJobData, void, 'dlr'>(
      QUEUE_NAMES.dlr,
      async (job) => {
        await processDlrJob({ ...deps, log: deps.log.child({ queue: 'dlr', jobId: job.id }) }, job.data);
      },
      {
        connection,
        prefix,
        concurrency: Math.max(10, Math.floor(config.send.concurrency / 2)),
        // Callbacks are short jobs: the same short locks as `send`, so a killed worker's callback
        // is applied within seconds rather than after BullMQ's default 30 s lock.
        lockDuration: config.send.lockDurationMs,
        stalledInterval: config.send.stalledIntervalMs,
      },
    );
    this.watches = new WatchPoller(deps);
    this.watches.start();
    for (const w of [this.send, this.dlr] as const) {
      w.on('failed', (job, err) =>
        log.warn({ queue: w.name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: maskPhonesInText(err.message) }, 'job failed'),
      );
      w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'worker error'));
    }
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all([this.send.waitUntilReady(), this.dlr.waitUntilReady()]);
  }

  /** Drains: stops taking jobs and waits for the running ones (SIGTERM). */
  async close(): Promise<void> {
    await Promise.all([this.watches.stop(), this.send.close(), this.dlr.close()]);
  }
}

/** What a settled raw job keeps: the key name when it is one, never the request. */
function keyOf(data: unknown): { key?: string } {
  const key = typeof data === 'object' && data !== null ? (data as { key?: unknown }).key : undefined;
  return typeof key === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? { key } : {};
}

/**
 * A job an upstream added to `send` itself (CONTRACTS §3): the envelope is checked
 * (`SB_VALIDATION_JOB`), then the request is admitted like an API call. Admitted → completes with
 * `{messageId}`; refused → fails with the `SB_*` code; in flight → delayed, whatever `attempts` is.
 * Once settled, the job data keeps no number or text, only the outcome (so a run after a stall
 * answers the same).
 */
async function processRawJob(
  job: Job<unknown, RawSendJobResult>,
  token: string | undefined,
  log: Logger,
  admitRaw: RawAdmission | undefined,
): Promise<RawSendJobResult> {
  const settled = settledRawJob(job.data);
  if (settled !== undefined) {
    if ('admittedAs' in settled) return { messageId: settled.admittedAs };
    throw new UnrecoverableError(settled.refused);
  }
  const refuse = async (text: string): Promise<never> => {
    // The reason is kept on the job (failedReason) and logged: no number in clear in either.
    const reason = maskPhonesInText(text);
    await job.updateData({ ...keyOf(job.data), refused: reason }).catch(() => undefined);
    throw new UnrecoverableError(reason);
  };
  const problems = rawJobProblems(job.name, job.data);
  if (problems.length > 0) return refuse(`SB_VALIDATION_JOB: ${problems.join('; ')}; see docs/raw-send-job.schema.json`);
  if (!admitRaw) throw new UnrecoverableError('SB_UNAVAILABLE: this worker cannot admit raw jobs');
  let messageId: string;
  try {
    messageId = await admitRaw(job.data as RawSendJobEnvelope, `bullmq-job:${job.id ?? ''}`);
  } catch (err) {
    if (err instanceof RawJobInFlightError) {
      await job.moveToDelayed(Date.now() + err.retryAfterMs, token);
      throw new DelayedError();
    }
    if (err instanceof UnrecoverableError) return refuse(err.message);
    throw err;
  }
  // The raw payload holds the number and text in clear: keep only the reference to the message.
  await job.updateData({ ...keyOf(job.data), admittedAs: messageId });
  log.info({ jobId: job.id, messageId }, 'admitted a raw send job');
  return { messageId };
}
