import { readinessSnapshotSchema, type ReadinessSnapshot } from './readiness-schema.js';

/**
 * The snapshot as the JSON document of the published schema (`readiness.schema.json`),
 * validated against it first so a projection bug surfaces here rather than in a consumer.
 *
 * @param indent Spaces of indentation; default 2. Pass 0 for one line (SSE, logs).
 * @throws ZodError when the snapshot does not match the schema.
 */
export function toReadinessJSON(snapshot: ReadinessSnapshot, indent = 2): string {
  const checked = readinessSnapshotSchema.parse(snapshot);
  return indent > 0 ? JSON.stringify(checked, null, indent) : JSON.stringify(checked);
}
