/**
 * The consumers: `send` (the pipeline, push fallback checks and each message's deadline watch)
 * and `dlr` (carrier callbacks).
 * Short locks on `send` (DESIGN §7): a killed worker's OTP is picked up again within 5–15 s.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { isRawSendJob, type RawAdmission } from '../pipeline/admit.stage.ts';
import type { Redis } from 'ioredis';
import { processDlrJob } from '../pipeline/dlr-job.processor.ts';
import type { PipelineDeps } from '../pipeline/pipeline-deps.ts';
import { processFallbackCheck } from '../pipeline/push.stage.ts';
import { processSendJob } from '../pipeline/send-job.processor.ts';
import { processWatchJob } from '../pipeline/watch-job.processor.ts';
import { QUEUE_NAMES, type DlrJobData, type FallbackCheckJobData, type SendQueueJobData, type SendQueueJobName, type WatchJobData } from './queue-names.ts';

export class WorkerSet {
  readonly send: Worker<SendQueueJobData, void, SendQueueJobName>;
  readonly dlr: Worker<DlrJobData, void, 'dlr'>;

  constructor(deps: PipelineDeps, connection: Redis, admitRaw?: RawAdmission) {
    const { config, log } = deps;
    const prefix = config.redis.prefix;
    this.send = new Worker<SendQueueJobData, void, SendQueueJobName>(
      QUEUE_NAMES.send,
      async (job: Job<SendQueueJobData, void, SendQueueJobName>, token?: string) => {
        if (isRawSendJob(job.data)) {
          if (!admitRaw) throw new UnrecoverableError('SB_UNAVAILABLE: this worker cannot admit raw jobs');
          let messageId: string;
          try {
            messageId = await admitRaw(job.data);
          } catch (err) {
            // A refused raw job stays as a failed job for ops: keep its reason, drop the number and text.
            if (err instanceof UnrecoverableError) await job.updateData({ key: job.data.key, request: { redacted: true } } as unknown as SendQueueJobData).catch(() => undefined);
            throw err;
          }
          // The raw payload holds the number and text in clear: keep only the reference to the message.
          await job.updateData({ key: job.data.key, admittedAs: messageId } as unknown as SendQueueJobData);
          deps.log.info({ jobId: job.id, messageId }, 'admitted a raw send job');
          return;
        }
        if (job.name === 'fallback-check') {
          const data = job.data as FallbackCheckJobData;
          await processFallbackCheck(deps, data.messageId, data.attempt, data.ackTimeoutMs);
          return;
        }
        if (job.name === 'watch' || job.name === 'expire') {
          const next = await processWatchJob(deps, job.data as WatchJobData);
          if (next.kind === 'done') return;
          // Same job, next deadline: its back-off state rides in its data.
          await job.updateData(next.data);
          // Deadlines are on the pipeline's clock; BullMQ delays on the wall clock.
          await job.moveToDelayed(Date.now() + Math.max(0, next.nextAt - deps.now()), token);
          throw new DelayedError();
        }
        const log = deps.log.child({ queue: 'send', jobId: job.id, messageId: job.data.messageId, run: job.attemptsMade + 1 });
        await processSendJob({ ...deps, log }, job.data.messageId, {
          attemptsMade: job.attemptsMade,
          maxRuns: job.opts.attempts ?? 1,
          async delay(ms: number): Promise<never> {
            await job.moveToDelayed(Date.now() + ms, token);
            throw new DelayedError();
          },
        });
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
    for (const w of [this.send, this.dlr] as const) {
      w.on('failed', (job, err) => log.warn({ queue: w.name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: err.message }, 'job failed'));
      w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'worker error'));
    }
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all([this.send.waitUntilReady(), this.dlr.waitUntilReady()]);
  }

  /** Drains: stops taking jobs and waits for the running ones (SIGTERM). */
  async close(): Promise<void> {
    await Promise.all([this.send.close(), this.dlr.close()]);
  }
}
