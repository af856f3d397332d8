/**
 * Messages the Zhipu API sends with each business error code, as listed in its public error-code
 * table (docs.bigmodel.cn, "API 错误码"). Clients must classify by `code`, never by these words,
 * which is why the simulator sends the provider's own Chinese text rather than English.
 */
export const GLM_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  '500': '内部错误',
  '1000': '身份验证失败',
  '1001': 'Header中未收到Authentication参数，无法进行身份验证',
  '1002': 'Authentication Token非法，请确认Authentication Token正确传递',
  '1210': 'API 调用参数有误，请检查文档',
  '1214': '参数非法。请检查文档',
  '1222': 'API 不存在',
  '1302': '您当前使用该API的并发数过高，请降低并发，或联系客服增加限额',
  '1305': '该模型当前访问量过大，请您稍后再试',
};

/** The JSON error document the Zhipu API answers with: `{"error":{"code":"1302","message":...}}`. */
export interface GlmErrorBody {
  error: { code: string; message: string };
}

/**
 * Builds a GLM error body for a business code. The code is sent as a string, as the real API does.
 *
 * @param code business error code such as `'1302'`
 * @param detail optional text appended to the provider message (used for simulator-side
 *   validation errors so the caller learns which field to fix)
 */
export function glmErrorBody(code: string, detail?: string): GlmErrorBody {
  const base = GLM_ERROR_MESSAGES[code] ?? '未知错误';
  return { error: { code, message: detail === undefined ? base : `${base}: ${detail}` } };
}

/** The business code the simulator pairs with an HTTP status when a fault names only the status. */
export function defaultCodeForStatus(status: number): string {
  if (status === 429) return '1302';
  if (status === 503) return '1305';
  if (status === 401) return '1000';
  if (status === 400) return '1210';
  return '500';
}
