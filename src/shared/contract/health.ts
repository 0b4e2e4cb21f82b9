import { z } from 'zod';

/** `GET /health`: answered without authentication so supervisors and load balancers can probe it. */
export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeSeconds: z.number().nonnegative(),
});

/** Parsed form of {@link HealthSchema}. */
export type Health = z.infer<typeof HealthSchema>;
