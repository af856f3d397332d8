import type { ResolvedRoute } from '../config/resolved-route.js';
import type { ChatRequest } from '../events/chat-request.js';

/**
 * The JSON body of one chat completions request in the OpenAI wire format: the route's model
 * unless the request names one, `stream: true` with `stream_options.include_usage` unless the
 * request sets `stream: false`, the request's optional fields in their wire names, then `extra`
 * as given. The descriptor's `transformRequest` has the last word, with the route's and the
 * request's provider options merged (the request's win by key).
 */
export function buildChatRequestBody(
  request: ChatRequest,
  route: ResolvedRoute,
): Record<string, unknown> {
  const model = request.model ?? route.model;
  const stream = request.stream !== false;
  const body: Record<string, unknown> = { model, messages: request.messages };

  if (request.tools !== undefined) body.tools = request.tools;
  if (request.toolChoice !== undefined) body.tool_choice = request.toolChoice;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.stop !== undefined) body.stop = request.stop;
  if (request.extra) Object.assign(body, request.extra);
  body.stream = stream;
  if (stream) {
    const given = body.stream_options as Record<string, unknown> | undefined;
    body.stream_options = { include_usage: true, ...given };
  }

  const transform = route.provider.transformRequest;
  if (!transform) return body;
  const providerOptions = { ...route.providerOptions, ...request.providerOptions };
  return transform(body, { model, providerOptions });
}
