// vitest globalSetup for integration tests: finds or starts real Kafka, MongoDB and Redis.
import type { TestProject } from 'vitest/node';
import { resolveInfra } from './infra.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { infra, teardown } = await resolveInfra();
  project.provide('infra', infra);
  return teardown;
}
