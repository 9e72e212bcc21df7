import { AppError, toErrorDetails } from '@suite/contracts';
import type { z } from 'zod';

/** Parses input at the edge; a failure becomes a 400 with field details. */
export function parseInput<T extends z.ZodTypeAny>(
  schema: T,
  input: unknown,
  where: 'body' | 'query' | 'path',
): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new AppError(
      'validation_failed',
      `invalid ${where}`,
      toErrorDetails(result.error, where),
    );
  }
  return result.data;
}
