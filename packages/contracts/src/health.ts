import { z } from 'zod';

export const ReadinessBody = z.object({
  status: z.enum(['ready', 'not_ready', 'draining']),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
  ),
});
export type ReadinessBody = z.infer<typeof ReadinessBody>;
