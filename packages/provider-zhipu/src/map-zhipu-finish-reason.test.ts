import { describe, expect, it } from 'vitest';
import { mapZhipuFinishReason } from './map-zhipu-finish-reason.js';

describe('mapZhipuFinishReason', () => {
  it('C03: sensitive is a content-filter finish', () => {
    expect(mapZhipuFinishReason('sensitive')).toEqual({ reason: 'content-filter' });
  });

  it('C03: network_error is a retryable provider error', () => {
    const mapping = mapZhipuFinishReason('network_error');
    expect(mapping && 'error' in mapping ? mapping.error.kind : undefined).toBe('provider');
    expect(mapping && 'error' in mapping ? mapping.error.retryable : undefined).toBe(true);
  });

  it.each(['stop', 'length', 'tool_calls', 'something_new'])('leaves %s to the core', (reason) => {
    expect(mapZhipuFinishReason(reason)).toBeUndefined();
  });
});
