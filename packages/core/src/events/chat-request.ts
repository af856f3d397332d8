/** A message in the OpenAI chat wire format, which every `openai-chat` provider speaks. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content?: string | null | Array<Record<string, unknown>>;
  name?: string;
  tool_calls?: Array<{
    id: string;
    type: 'function';
    function: { name: string; arguments: string };
  }>;
  tool_call_id?: string;
  reasoning_content?: string;
  [extra: string]: unknown;
}

/** A tool the model may call, in the OpenAI wire format. */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

/**
 * One model request. `model` defaults to the route's model. Fields a provider does not know are
 * passed on in `extra`; provider-specific switches go in `providerOptions` and are turned into
 * wire fields by the descriptor's `transformRequest` (e.g. GLM's `thinking`).
 */
export interface ChatRequest {
  messages: ChatMessage[];
  model?: string;
  tools?: ChatTool[];
  toolChoice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string | string[];
  /** Defaults to true. */
  stream?: boolean;
  providerOptions?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}
