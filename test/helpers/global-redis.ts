/**
 * vitest global setup: the shared test Redis. An explicit `REDIS_URL` always wins; without one, a
 * Redis container when a Docker engine answers (DESIGN §4), else the Redis at the default
 * `redis://127.0.0.1:6379`. The container's URL goes into `REDIS_URL` before the test workers
 * start, so every suite (and every process it spawns with `TEST_REDIS_URL`) uses it.
 */
import { dockerEngineAnswers } from './docker-engine.ts';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env['REDIS_URL'] !== undefined && process.env['REDIS_URL'] !== '') return undefined;
  if (!(await dockerEngineAnswers())) return undefined;
  const { startSharedRedisContainer } = await import('./containers.ts');
  const redis = await startSharedRedisContainer();
  process.env['REDIS_URL'] = redis.url;
  console.log(`[test] shared Redis: a container at ${redis.url}`);
  return () => redis.stop();
}
