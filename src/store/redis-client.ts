/**
 * The Redis client every store, queue and route is written against: one server or Sentinel
 * (`Redis`) or Redis Cluster (`Cluster`). Both speak the same commands, scripts and pipelines and
 * BullMQ takes either, so nothing but the connection factory needs to know which one it has.
 */
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;
