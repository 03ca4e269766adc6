/** Renders every error in one place: JSON {status, message} for the API, a readable page for browsers. Never a stack trace. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import { scrubUrl } from './scrub-url.js';

export interface ErrorInfo {
  status: number;
  message: string;
  headers: Record<string, string>;
  /** More JSON fields of the API answer (HubError.extra). */
  extra?: Record<string, unknown>;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 424: 'Failed Dependency',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
};

export function reason(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** Maps any thrown value to what the client may see; unexpected errors are logged and hidden. */
export function describeError(err: unknown, log: Logger, req: FastifyRequest): ErrorInfo {
  if (err instanceof HubError) return { status: err.status, message: err.message, headers: err.headers, extra: err.extra };
  const fe = err as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (bad JSON, body too large, validation): their messages are safe.
    return { status: fe.statusCode, message: fe.message, headers: {} };
  }
  log.error({ err, url: scrubUrl(req.url), method: req.method }, 'unhandled error');
  return { status: 500, message: 'Internal server error: the hub log has the details', headers: {} };
}

export function sendJsonError(reply: FastifyReply, info: ErrorInfo): FastifyReply {
  return reply.code(info.status).headers(info.headers).type('application/json').send({ ...info.extra, status: info.status, message: info.message });
}
