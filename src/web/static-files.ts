/**
 * /hub/static/*: the few CSS and JS files of the pages, read once at start and served from memory
 * with an ETag. A static-file plugin would add a dependency for four files.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { withoutCaller } from '../rbac/route-policy.js';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** src/web/static when run from source; the build copies it to dist/web/static. */
export const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

export function registerStaticRoutes(app: FastifyInstance): void {
  const files = new Map<string, { body: Buffer; type: string; etag: string }>();
  for (const name of readdirSync(STATIC_DIR)) {
    const body = readFileSync(path.join(STATIC_DIR, name));
    const etag = '"' + createHash('sha1').update(body).digest('hex').slice(0, 16) + '"';
    files.set(name, { body, type: TYPES[path.extname(name)] ?? 'application/octet-stream', etag });
  }
  app.get<{ Params: { file: string } }>('/static/:file', withoutCaller('none: public files'), async (req, reply) => {
    const f = files.get(req.params.file);
    if (!f) return reply.callNotFound();
    if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
    return reply.type(f.type).header('ETag', f.etag).header('Cache-Control', 'public, max-age=3600').send(f.body);
  });
}
