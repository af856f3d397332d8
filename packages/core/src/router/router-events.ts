import type { SluiceErrorKind } from '../errors/sluice-error.js';
import type { FinishReason, Usage } from '../events/chat-events.js';

interface Base {
  requestId: string;
  route: string;
  instance: string;
  providerId: string;
  budgetKey: string;
  sessionId?: string;
  /** Epoch ms. */
  time: number;
}

/**
 * The router's telemetry stream. Libraries publish these instead of printing; readiness, the
 * dashboard and the CLI subscribe. No event carries a secret.
 */
export type SluiceEvent =
  | (Base & { type: 'request-start'; attempt: number })
  | (Base & { type: 'queued'; attempt: number })
  | (Base & { type: 'lease-acquired'; attempt: number; waitedMs: number })
  | (Base & { type: 'lease-released'; attempt: number; heldMs: number })
  | (Base & { type: 'headers'; attempt: number; status: number; headersMs: number })
  | (Base & { type: 'first-token'; attempt: number; ttftMs: number })
  | (Base & {
      type: 'retry';
      attempt: number;
      kind: SluiceErrorKind;
      delayMs: number;
      status?: number;
      providerCode?: string;
    })
  | (Base & { type: 'fallback'; from: string; to: string; kind: SluiceErrorKind })
  | (Base & { type: 'cooldown'; untilMs: number; reason: string })
  | (Base & {
      /**
       * The adaptive limit of `budgetKey` changed; published by the request whose outcome caused
       * it. `limit` is the effective limit now, `reason` says why ("1302 rate limit from glm",
       * "3 clean streams at limit 3").
       */
      type: 'limit-changed';
      attempt: number;
      limit: number;
      previous: number;
      reason: string;
      direction: 'increase' | 'decrease' | 'clamp';
    })
  | (Base & {
      type: 'request-end';
      attempts: number;
      outcome: 'success' | 'failure' | 'cancelled';
      durationMs: number;
      waitedMs: number;
      ttftMs?: number;
      finishReason?: FinishReason;
      usage?: Usage;
      error?: {
        kind: SluiceErrorKind;
        code: string;
        message: string;
        status?: number;
        providerCode?: string;
        phase?: string;
      };
    });

export type SluiceEventType = SluiceEvent['type'];
