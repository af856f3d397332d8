import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChatStream } from './decode-chat-stream.js';
import { bodyOf, cutBytes, drain, ofType, textOf, utf8 } from './sse-test-helpers.js';

// Pieces chosen to hit every UTF-8 length (1 to 4 bytes), JSON escapes and line breaks inside
// the JSON strings, so that cuts land inside characters and escapes as often as possible.
const piece = fc.constantFrom('a', ' ', 'é', '智', '谱', '😀', '\n', '\r', '"', '\\', '\u2028');

describe('decodeChatStream under any chunking (C01, C02 kind)', () => {
  it('yields exactly the sent text and reasoning, one finish, for any cut and line ending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.array(piece, { minLength: 1, maxLength: 6 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.constantFrom('\n', '\r', '\r\n'),
        fc.constantFrom('', '\n', '\r', 'blank', 'done'),
        fc.array(fc.integer({ min: 1, max: 24 }), { maxLength: 80 }),
        async (deltas, eol, ending, cuts) => {
          let text = '';
          let reasoning = '';
          const frames = deltas.map(([isReasoning, pieces]) => {
            const value = pieces.join('');
            if (isReasoning) reasoning += value;
            else text += value;
            const delta = isReasoning ? { reasoning_content: value } : { content: value };
            return `data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}${eol}${eol}`;
          });
          const finish = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}';
          const tail =
            ending === 'blank'
              ? `${eol}${eol}`
              : ending === 'done'
                ? `${eol}${eol}data: [DONE]${eol}${eol}`
                : ending;
          const bytes = utf8(frames.join('') + finish + tail);

          const { events, error } = await drain(decodeChatStream(bodyOf(cutBytes(bytes, cuts))));

          expect(error).toBeUndefined();
          expect(textOf(events)).toBe(text);
          expect(
            ofType(events, 'reasoning-delta')
              .map((event) => event.text)
              .join(''),
          ).toBe(reasoning);
          expect(ofType(events, 'finish')).toHaveLength(1);
          expect(events.at(-1)?.type).toBe('finish');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never finishes cleanly when the body is cut anywhere inside the last event', async () => {
    const last =
      'data: {"choices":[{"index":0,"delta":{"content":"智谱 😀"},"finish_reason":"stop"}]}';
    const head = utf8('data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n');
    const lastBytes = utf8(last);

    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: lastBytes.length - 1 }), async (cutAt) => {
        const bytes = new Uint8Array([...head, ...lastBytes.subarray(0, cutAt)]);

        const { events, error } = await drain(decodeChatStream(bodyOf([bytes])));

        expect(ofType(events, 'finish')).toHaveLength(0);
        expect(error).toMatchObject({ kind: 'truncated', retryable: true });
      }),
      { numRuns: 200 },
    );
  });
});
