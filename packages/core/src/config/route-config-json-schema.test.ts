import { expect, test } from 'vitest';
import { routeConfigJsonSchema } from './route-config-json-schema.js';

test('the JSON Schema describes providers and routes and rejects unknown keys', () => {
  const schema = routeConfigJsonSchema() as {
    type: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { additionalProperties?: { properties?: Record<string, unknown> } }>;
  };

  expect(schema.type).toBe('object');
  expect(schema.required).toEqual(['providers', 'routes']);
  expect(schema.additionalProperties).toBe(false);
  const instance = schema.properties.providers?.additionalProperties?.properties ?? {};
  expect(Object.keys(instance)).toContain('maxConcurrency');
  expect(instance.maxConcurrency).toMatchObject({ type: 'integer', minimum: 0 });
});
