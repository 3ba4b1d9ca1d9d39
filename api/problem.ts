// Errors as RFC 9457 problem documents with a stable `code` that clients can switch on.
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly detail: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemBody(status: number, code: string, message: string, extra?: Record<string, unknown>) {
  return { type: `https://coffer.dev/problems/${code}`, title: titles[status] ?? 'Error', status, code, detail: message, ...extra };
}

// PostgreSQL's text and jsonb cannot hold U+0000, and refuse it with an error; a JSON escape
// of it (an odd run of backslashes before u0000) is refused here instead. A raw NUL byte is not
// valid JSON, so JSON.parse refuses that one.
const escapedNul = /(?:^|[^\\])(?:\\\\)*\\u0000/i;

function parseJson(text: string): unknown {
  if (escapedNul.test(text)) throw new ApiError(400, 'invalid_body', 'strings in the request body must not contain NUL (U+0000)');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
  }
}

/** The request body as JSON, or a 400 `invalid_json` problem. */
export async function readJsonBody(request: { text(): Promise<string> }): Promise<unknown> {
  return parseJson(await request.text());
}

/** The body as JSON when there is one, else `{}` (for actions whose body is optional). */
export async function readOptionalJsonBody(request: { text(): Promise<string> }): Promise<unknown> {
  const text = await request.text();
  return text.trim() === '' ? {} : parseJson(text);
}
