/**
 * Content links in nbgitpuller's format, `/hub/user-redirect/git-pull?repo=…&branch=…&urlpath=…`,
 * handled by the hub, so they work whether or not the single-user server has the nbgitpuller
 * extension: the link is checked (content.allowed_repos), the user's server started if it is not
 * running (the spawn-pending page then comes back here), the repository cloned or updated in the
 * server's directory with nbgitpuller's rule (src/content/git-pull.ts) as the server's own uid, and
 * the browser sent on to `urlpath`. A server whose files are not on this host (a Slurm job) gets the
 * link as nbgitpuller's own handler would, at `/user/<name>/git-pull`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from '../http/context.js';
import { startServer } from '../hub/start-server.js';
import { GitPullError, pullRepository } from '../content/git-pull.js';
import { parseGitPullQuery } from '../content/links.js';
import type { UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import { escapePathSegment } from '../hub/urls.js';

export async function openContentLink(ctx: HubContext, user: UserRow, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const link = parseGitPullQuery((req.query ?? {}) as Record<string, unknown>, ctx.config.content.allowed_repos);
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  let server = await ctx.servers.get(user.id, '');
  if (server?.phase === 'running' && !(await ctx.lifecycle.pollServer(server, user.name))) server = await ctx.servers.get(user.id, '');
  if (server?.phase !== 'running') {
    if (server?.phase !== 'spawning') await startServer(ctx, user, '', {}, 0);
    // Back here once the server is up (the pending page follows `next`).
    const back = `${ctx.urls.hub}user-redirect/git-pull${query}`;
    return reply.redirect(`${ctx.urls.hub}spawn-pending/${escapePathSegment(user.name)}?next=${encodeURIComponent(back)}`, 302);
  }
  const serverUrl = ctx.urls.userServerUrl(user.name);
  const local = await ctx.lifecycle.localFiles(user, server);
  if (!local) return reply.redirect(`${serverUrl}git-pull${query}`, 302);
  try {
    const pulled = await pullRepository({
      files: local.files,
      repo: link.repo,
      ...(link.branch ? { branch: link.branch } : {}),
      ...(link.depth !== undefined ? { depth: link.depth } : {}),
      root: local.root,
      targetpath: link.targetpath,
      timeoutMs: ctx.config.content.timeout * 1000,
    });
    ctx.log.info({ user: user.name, repo: link.repo, branch: link.branch ?? null, action: pulled.action }, 'content link pulled');
  } catch (err) {
    if (!(err instanceof GitPullError)) throw err;
    ctx.log.warn({ user: user.name, repo: link.repo, err: err.message }, 'content link failed');
    throw new HubError(502, `Could not get ${link.repo}: ${err.message}`);
  }
  return reply.redirect(`${serverUrl}${link.redirectPath}`, 302);
}
