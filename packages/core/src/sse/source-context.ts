/** Where a response came from, for error messages and error fields. */
export interface SourceContext {
  /** Route name, copied into every error. */
  route?: string | undefined;
  /** Provider id, copied into every error. */
  providerId?: string | undefined;
  /**
   * Values that must never leave the package (the API key, a signed token). Masked in every error
   * message and raw text built from a response body, in case a provider echoes them back.
   */
  secrets?: ReadonlyArray<string | undefined> | undefined;
  /** The response's HTTP status, copied into every error; default 200. */
  status?: number | undefined;
}

/** The status an error built from the body carries: the response's, 200 when unknown. */
export function statusOf(context: SourceContext): number {
  return context.status ?? 200;
}

/** `The response of route "glm" (provider zhipu)`, or as much of it as is known. */
export function describeSource(context: SourceContext): string {
  const parts: string[] = [];
  if (context.route !== undefined) parts.push(`route "${context.route}"`);
  if (context.providerId !== undefined) parts.push(`provider ${context.providerId}`);
  if (parts.length === 0) return 'The response';
  if (parts.length === 1) return `The response of ${parts[0]}`;
  return `The response of ${parts[0]} (${parts[1]})`;
}
