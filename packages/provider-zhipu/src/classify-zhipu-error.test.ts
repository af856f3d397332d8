import { describe, expect, it } from 'vitest';
import { classifyZhipuError } from './classify-zhipu-error.js';

function input(status: number, code: string | number | undefined, message: string) {
  const body = { error: { ...(code === undefined ? {} : { code }), message } };
  return { status, headers: new Headers(), body, bodyText: JSON.stringify(body) };
}

interface Row {
  code: string;
  status: number;
  message: string;
  kind: string;
  retryable: boolean;
  cooldown?: boolean;
  preferFallback?: boolean;
}

// Expected values come from the table and the public code lists on docs.z.ai and
// docs.bigmodel.cn, not from the classifier.
const rows: Row[] = [
  {
    code: '1302',
    status: 429,
    message: '您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。',
    kind: 'rate-limit',
    retryable: true,
    cooldown: true,
  },
  {
    code: '1303',
    status: 429,
    message: '您当前使用该API的频率过高，请降低频率。',
    kind: 'rate-limit',
    retryable: true,
    cooldown: true,
  },
  {
    code: '1305',
    status: 429,
    message: '该API已触发流量限制',
    kind: 'overloaded',
    retryable: true,
  },
  {
    code: '1305',
    status: 503,
    message: 'The service may be temporarily overloaded, please try again later',
    kind: 'overloaded',
    retryable: true,
  },
  {
    code: '1312',
    status: 429,
    message: '该模型当前访问量过大，请您稍后再试',
    kind: 'overloaded',
    retryable: true,
    preferFallback: true,
  },
  {
    code: '1113',
    status: 429,
    message: '您的账户已欠费，请充值后重试。',
    kind: 'billing',
    retryable: false,
  },
  { code: '1000', status: 401, message: '身份验证失败。', kind: 'auth', retryable: false },
  {
    code: '1001',
    status: 401,
    message: 'Header中未收到Authentication参数',
    kind: 'auth',
    retryable: false,
  },
  { code: '1002', status: 401, message: 'Authorization Token非法', kind: 'auth', retryable: false },
  {
    code: '1003',
    status: 401,
    message: 'Authorization Token已过期',
    kind: 'auth',
    retryable: false,
  },
  {
    code: '1004',
    status: 401,
    message: '通过 Authentication Token 的验证失败',
    kind: 'auth',
    retryable: false,
  },
  {
    code: '1211',
    status: 400,
    message: '模型不存在，请检查模型代码。',
    kind: 'model-not-found',
    retryable: false,
  },
  {
    code: '1311',
    status: 403,
    message: '当前订阅套餐暂未开放glm-5权限',
    kind: 'model-not-found',
    retryable: false,
  },
  {
    code: '1301',
    status: 400,
    message: '系统检测到输入或生成内容可能包含不安全或敏感内容',
    kind: 'content-filter',
    retryable: false,
  },
  { code: '1261', status: 400, message: 'Prompt 超长', kind: 'context-length', retryable: false },
  {
    code: '1308',
    status: 429,
    message: '已达到 5 小时 的使用上限。您的限额将在 2026-01-07 03:00:00 重置。',
    kind: 'quota',
    retryable: false,
  },
  {
    code: '1310',
    status: 429,
    message: 'Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-01-12 00:00:00',
    kind: 'quota',
    retryable: false,
  },
  {
    code: '1210',
    status: 400,
    message: 'API 调用参数有误，请检查文档。',
    kind: 'bad-request',
    retryable: false,
  },
  {
    code: '1212',
    status: 400,
    message: '当前模型不支持该调用方式',
    kind: 'bad-request',
    retryable: false,
  },
  {
    code: '1213',
    status: 400,
    message: '未正常接收到prompt参数',
    kind: 'bad-request',
    retryable: false,
  },
  {
    code: '1214',
    status: 400,
    message: 'messages 参数非法。请检查文档。',
    kind: 'bad-request',
    retryable: false,
  },
  {
    code: '1215',
    status: 400,
    message: 'temperature 与 top_p 不能同时设置',
    kind: 'bad-request',
    retryable: false,
  },
  { code: '500', status: 500, message: '内部错误', kind: 'server', retryable: true },
];

describe('classifyZhipuError: the code table', () => {
  for (const row of rows) {
    for (const code of [row.code, Number(row.code)]) {
      it(`${row.code} as a ${typeof code} code (HTTP ${row.status}) is ${row.kind}, retryable ${row.retryable}`, () => {
        const result = classifyZhipuError(input(row.status, code, row.message));

        expect(result).toBeDefined();
        expect(result?.kind).toBe(row.kind);
        expect(result?.retryable).toBe(row.retryable);
        expect(result?.providerCode).toBe(row.code);
        expect(result?.cooldown ?? false).toBe(row.cooldown ?? false);
        expect(result?.preferFallback ?? false).toBe(row.preferFallback ?? false);
      });
    }
  }
});

describe('classifyZhipuError: hints', () => {
  it('1113 points a Coding Plan key to the coding endpoint', () => {
    const result = classifyZhipuError(input(429, '1113', '您的账户已欠费，请充值后重试。'));
    expect(result?.hint).toContain('coding');
    expect(result?.hint).toContain('https://api.z.ai/api/coding/paas/v4');
  });

  it('auth codes name every env var the key may come from', () => {
    const result = classifyZhipuError(input(401, 1002, 'Authorization Token非法'));
    for (const name of ['ZHIPU_API_KEY', 'ZAI_API_KEY', 'GLM_API_KEY']) {
      expect(result?.hint).toContain(name);
    }
  });

  it('1211 and 1311 point to the catalog', () => {
    expect(classifyZhipuError(input(400, '1211', 'x'))?.hint).toMatch(/catalog/);
    expect(classifyZhipuError(input(403, '1311', 'x'))?.hint).toMatch(/catalog/);
  });

  it('1308 keeps the reset time from a Chinese message', () => {
    const message = '已达到 5 小时 的使用上限。您的限额将在 2026-01-07 03:00:00 重置。';
    expect(classifyZhipuError(input(429, '1308', message))?.hint).toContain('2026-01-07 03:00:00');
  });

  it('1310 keeps the reset time from an English message', () => {
    const message = 'Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-01-12 00:00:00';
    expect(classifyZhipuError(input(429, 1310, message))?.hint).toContain('2026-01-12 00:00:00');
  });

  it('a usage cap without a parsable time still carries the provider text', () => {
    const hint = classifyZhipuError(input(429, '1308', '限额将在下周一重置'))?.hint;
    expect(hint).toContain('限额将在下周一重置');
  });

  it('the message names the code and keeps the provider text', () => {
    const message = '您当前使用该API的并发数过高';
    const result = classifyZhipuError(input(429, '1302', message));
    expect(result?.message).toContain('1302');
    expect(result?.message).toContain(message);
  });
});

describe('classifyZhipuError: by code, not by words (C05)', () => {
  it('C05: a 1302 whose message reads like an auth failure is still a rate limit', () => {
    const result = classifyZhipuError(input(429, '1302', 'authentication failed: invalid api key'));
    expect(result?.kind).toBe('rate-limit');
  });

  it('C05: an auth code whose message talks about rate limits is still auth', () => {
    const result = classifyZhipuError(input(401, 1000, 'rate limit exceeded, too many requests'));
    expect(result?.kind).toBe('auth');
    expect(result?.retryable).toBe(false);
  });
});

describe('classifyZhipuError: unknown and missing codes', () => {
  it.each([
    [429, 'rate-limit'],
    [503, 'overloaded'],
    [502, 'server'],
    [401, 'auth'],
    [400, 'bad-request'],
  ])(
    'an unknown code with HTTP %i falls back to the status default %s and keeps the code',
    (status, kind) => {
      const result = classifyZhipuError(input(status, '9999', 'something new'));
      expect(result?.kind).toBe(kind);
      expect(result?.providerCode).toBe('9999');
      expect(result?.retryable).toBeUndefined();
    },
  );

  it('a body without a code leaves the decision to the core', () => {
    expect(classifyZhipuError(input(500, undefined, 'oops'))).toBeUndefined();
    expect(
      classifyZhipuError({
        status: 502,
        headers: new Headers(),
        body: undefined,
        bodyText: '<html>bad gateway</html>',
      }),
    ).toBeUndefined();
  });

  it('parses bodyText when the core passed no parsed body', () => {
    const bodyText = '{"error":{"code":1302,"message":"并发数过高"}}';
    const result = classifyZhipuError({
      status: 429,
      headers: new Headers(),
      body: undefined,
      bodyText,
    });
    expect(result?.kind).toBe('rate-limit');
    expect(result?.providerCode).toBe('1302');
  });

  it('reads a top-level code and msg as some GLM gateways send them', () => {
    const body = { code: 1305, msg: '该API已触发流量限制' };
    const result = classifyZhipuError({
      status: 503,
      headers: new Headers(),
      body,
      bodyText: JSON.stringify(body),
    });
    expect(result?.kind).toBe('overloaded');
    expect(result?.providerCode).toBe('1305');
  });
});
