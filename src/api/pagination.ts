/** JupyterHub's offset/limit pagination: plain lists by default, `{items, _pagination}` with its media type. */
import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import type { HubContext } from '../http/context.js';
import type { Json } from './models.js';

export const PAGINATION_TYPE = 'application/jupyterhub-pagination+json';

type Query = Record<string, string | undefined>;

/**
 * offset/limit of a list request. Without the pagination media type the default limit is the
 * maximum (as JupyterHub does, so that old clients that ignore pagination miss as little as possible).
 */
export function pagination(ctx: Pick<HubContext, 'config'>, req: FastifyRequest): { offset: number; limit: number; paginated: boolean } {
  const q = req.query as Query;
  const paginated = (req.headers.accept ?? '').includes(PAGINATION_TYPE);
  const defaultLimit = paginated ? ctx.config.api_page_default_limit : ctx.config.api_page_max_limit;
  const offset = q.offset === undefined ? 0 : Math.abs(Number(q.offset));
  let limit = q.limit === undefined ? defaultLimit : Math.abs(Number(q.limit));
  if (!Number.isInteger(offset) || !Number.isInteger(limit)) throw new HubError(400, 'Invalid argument type, offset and limit must be integers');
  limit = Math.max(1, Math.min(limit, ctx.config.api_page_max_limit));
  return { offset, limit, paginated };
}

export function paginatedBody(req: FastifyRequest, items: Json[], offset: number, limit: number, total: number): Json {
  const next = offset + limit;
  let nextInfo: Json = null;
  if (next < total) {
    const url = new URL(req.url, `${req.protocol}://${req.host}`);
    url.searchParams.set('offset', String(next));
    url.searchParams.set('limit', String(limit));
    nextInfo = { offset: next, limit, url: url.href };
  }
  return { items, _pagination: { offset, limit, total, next: nextInfo } };
}
