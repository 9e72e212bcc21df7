import { z } from 'zod';

/**
 * A positive integer id as text: at most 15 digits, so every id is exact as a JavaScript number
 * (2^53 has 16 digits) and the API description's pattern is exactly what is accepted.
 */
export const ID_PATTERN = /^[1-9][0-9]{0,14}$/;

/** Positive integer id as it appears in a path or query string. */
export const IdParam = z
  .string()
  .regex(ID_PATTERN, 'must be a positive integer of at most 15 digits')
  .transform(Number);

/** The inclusive bounds of each query-string integer, so the API description states them as the validator applies them. */
export const queryIntegerBounds = z.registry<{ minimum: number; maximum: number }>();

/**
 * A positive decimal integer of at most `max` in a query string. The validator reads a string; the
 * API description shows it as `{type: integer, minimum: 1, maximum: max}`, which is what it accepts:
 * JSON Schema counts `7.0` an integer, so a fraction of zeros is accepted too.
 */
export function queryInteger(max: number) {
  const schema = z
    .string()
    .regex(/^[1-9][0-9]{0,15}(?:\.0{1,16})?$/, 'must be a positive integer')
    .transform(Number)
    .refine((n) => n <= max, { message: `must be at most ${max}` });
  queryIntegerBounds.add(schema, { minimum: 1, maximum: max });
  return schema;
}
