/**
 * /hub/static/*: the few CSS and JS files of the pages, read once at start and served from memory
 * with an ETag. A static-file plugin would add a dependency for four files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { servedFile, type Branding, type ServedFile } from '../config/branding.js';
import { withoutCaller } from '../rbac/route-policy.js';

/** Where branding.stylesheet is served, under /hub/static/. */
export const SITE_STYLESHEET = 'site.css';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** src/web/static when run from source; the build copies it to dist/web/static. */
export const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

export function registerStaticRoutes(app: FastifyInstance, branding: Branding): void {
  const files = new Map<string, ServedFile>();
  for (const name of readdirSync(STATIC_DIR)) {
    files.set(name, servedFile(readFileSync(path.join(STATIC_DIR, name)), TYPES[path.extname(name)] ?? 'application/octet-stream'));
  }
  // The site's stylesheet (branding.stylesheet) beside the hub's own.
  if (branding.stylesheet) files.set(SITE_STYLESHEET, branding.stylesheet);
  const send = (f: ServedFile, req: FastifyRequest, reply: FastifyReply) => {
    if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
    return reply.type(f.type).header('ETag', f.etag).header('Cache-Control', 'public, max-age=3600').send(f.body);
  };
  app.get<{ Params: { file: string } }>('/static/:file', withoutCaller('none: public files'), async (req, reply) => {
    const f = files.get(req.params.file);
    if (!f) return reply.callNotFound();
    return send(f, req, reply);
  });
  // As JupyterHub: /hub/logo is the site's logo (logo_file), else the hub's own.
  const logo = branding.logo ?? files.get('logo.svg')!;
  app.get('/logo', withoutCaller('none: the public logo'), async (req, reply) => send(logo, req, reply));
}
