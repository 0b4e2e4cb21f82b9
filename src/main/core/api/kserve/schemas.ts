import { z } from 'zod';
import { boundedJson, PARAMETERS_BOUNDS } from '../json-bounds';

/** How deep an inference header may nest: tensor data nests once per dimension, parameters a little. */
export const HEADER_MAX_DEPTH = 64;

/** One input of an infer request: JSON `data`, or `binary_data_size` bytes after the header. */
export const V2InputSchema = z.object({
  name: z.string().min(1).max(1024),
  shape: z.array(z.number().int().min(0)).max(64),
  datatype: z.string().max(64),
  data: z.unknown().optional(),
  parameters: boundedJson(
    PARAMETERS_BOUNDS,
    z.looseObject({ binary_data_size: z.number().int().min(0).optional() }),
  ).optional(),
});

/** Parsed form of {@link V2InputSchema}. */
export type V2Input = z.infer<typeof V2InputSchema>;

const V2OutputSchema = z.object({
  name: z.string().min(1).max(1024),
  parameters: boundedJson(
    PARAMETERS_BOUNDS,
    z.looseObject({ binary_data: z.boolean().optional() }),
  ).optional(),
});

/** The JSON header of `POST /v2/models/<name>/infer` (KServe v2 inference request). */
export const InferRequestSchema = z
  .object({
    id: z.string().max(1024).optional(),
    parameters: boundedJson(
      PARAMETERS_BOUNDS,
      z.looseObject({ binary_data_output: z.boolean().optional() }),
    ).optional(),
    inputs: z.array(V2InputSchema).min(1, 'The request has no inputs.'),
    outputs: z.array(V2OutputSchema).optional(),
  })
  .superRefine((request, context) => {
    for (const [list, items] of [
      ['inputs', request.inputs],
      ['outputs', request.outputs ?? []],
    ] as const) {
      const seen = new Set<string>();
      items.forEach((item, index) => {
        if (seen.has(item.name))
          context.addIssue({
            code: 'custom',
            path: [list, index, 'name'],
            message: `"${item.name}" is named more than once.`,
          });
        seen.add(item.name);
      });
    }
  });

/** Parsed form of {@link InferRequestSchema}. */
export type InferRequest = z.infer<typeof InferRequestSchema>;

/** The path parameter of `/v2/models/*`. */
export const ModelPathSchema = z.object({ '*': z.string() });
