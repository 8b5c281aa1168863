/** Liveness and readiness (CONTRACTS §3): ready means Redis answers. */
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../store/redis-client.ts';
import { pingRedis } from '../../queues/redis-connection.ts';

export function registerHealthRoutes(app: FastifyInstance, redis: RedisClient): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = await pingRedis(redis, 1_000);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', redis: ok ? 'up' : 'down' });
  });
}
