/** Starting and stopping servers, and the spawn progress event stream. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerRow, UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { JsonObject, ProgressEvent } from '../spawners/spawner.js';
import { type HubContext, emptyReply, findUserOr404, requireCaller, requireScope } from './context.js';

type ServerParams = { name: string; server?: string };

function logName(user: string, server: string): string {
  return server ? `${user}:${server}` : user;
}

function serverTarget(user: string, server: string) {
  return { user, server: `${user}/${server}` };
}

/** Named servers: enabled, name valid, under the per-user limit (for new ones). */
export async function checkNamedServer(ctx: HubContext, user: UserRow, serverName: string, creating: boolean): Promise<void> {
  if (!serverName) return;
  if (!ctx.config.allow_named_servers) throw new HubError(400, 'Named servers are not enabled.');
  if (!/^[^/\\\u0000-\u001f\u007f]{1,255}$/.test(serverName)) throw new HubError(400, `Invalid server name: ${JSON.stringify(serverName)}`);
  // `.` and `..` would be dot segments in the server's URL (/user/alice/../): no browser keeps them.
  if (serverName === '.' || serverName === '..') throw new HubError(400, `Invalid server name: ${JSON.stringify(serverName)} (. and .. cannot be server names)`);
  const limit = ctx.config.named_server_limit_per_user;
  if (creating && limit > 0) {
    const servers = await ctx.servers.forUser(user.id);
    if (!servers.some((s) => s.name === serverName) && servers.filter((s) => s.name !== '').length >= limit) {
      throw new HubError(400, `User ${user.name} already has the maximum of ${limit} named servers.  One must be deleted before a new server can be created`);
    }
  }
}

/** Shared by the API and the spawn page: checks state, parses options, starts. */
export async function startServer(ctx: HubContext, user: UserRow, serverName: string, options: JsonObject, waitMs?: number): Promise<{ status: 'ready' | 'pending'; server: ServerRow }> {
  // A server a feature owns (a course server) may start even without named servers, if the feature says so.
  const profile = serverName ? await ctx.serverProfiles.resolve(user, serverName) : null;
  if (!profile) await checkNamedServer(ctx, user, serverName, true);
  const server = await ctx.servers.ensure(user.id, serverName, ctx.lifecycle.spawnerKind);
  if (server.phase === 'spawning') return { status: 'pending', server };
  if (server.phase === 'stopping') throw new HubError(400, `${logName(user.name, serverName)} is pending stop`);
  if (server.phase === 'running' && (await ctx.lifecycle.pollServer(server, user.name))) {
    throw new HubError(400, `${logName(user.name, serverName)} is already running`);
  }
  // As JupyterHub's refresh_pre_spawn: fresh tokens in auth_state before they go to the server.
  const refreshed = await ctx.refreshAuthState(user);
  if (refreshed === 'expired') {
    throw new HubError(403, `The login of ${user.name} has expired: log in again to start a server`);
  }
  if (refreshed === 'refreshed') user = (await ctx.users.byId(user.id)) ?? user;
  const userOptions = await ctx.lifecycle.parseOptions(options, user, await ctx.access.userGroups(user));
  // pollServer may have found a running server dead and stopped it: read the row again then.
  const fresh = server.phase === 'running' ? (await ctx.servers.byId(server.id))! : server;
  const { status } = await ctx.lifecycle.start(user, fresh, userOptions, waitMs, profile);
  return { status, server: fresh };
}

export function registerServerRoutes(app: FastifyInstance, ctx: HubContext): void {
  // batchspawner's wrapper protocol: the server inside a batch job, with its own API token, says which
  // port it took on its node. The host is not taken from the body but from Slurm (the job's node), so a
  // token cannot point the proxy elsewhere.
  app.post('/batchspawner', async (req, reply) => {
    const caller = requireCaller(req);
    const token = caller.token;
    const user = caller.principal.kind === 'user' ? caller.principal.user : null;
    if (!token || token.kind !== 'server' || !user) throw new HubError(403, "Only a server's own API token may report its location");
    const server = (await ctx.servers.forUser(user.id)).find((s) => s.api_token_id === token.id);
    if (!server) throw new HubError(404, 'No server uses this token');
    const body = req.body as { port?: unknown } | null;
    const port = typeof body?.port === 'string' && /^\d+$/.test(body.port) ? Number(body.port) : body?.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new HubError(400, 'port must be a whole number from 1 to 65535');
    if (server.phase !== 'spawning' || !ctx.lifecycle.acceptReport({ userName: user.name, serverName: server.name, port })) {
      throw new HubError(409, `${logName(user.name, server.name)} is not waiting for a location report`);
    }
    return reply.code(201).send({ message: 'BatchSpawner data configured' });
  });

  const start = async (req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) => {
    const serverName = req.params.server ?? '';
    await requireScope(ctx, req, 'start:servers', serverTarget(req.params.name, serverName));
    const user = await findUserOr404(ctx, req.params.name);
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'user options must be a JSON object');
    const { status } = await startServer(ctx, user, serverName, body as JsonObject);
    return emptyReply(reply, status === 'ready' ? 201 : 202);
  };

  const stop = async (req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) => {
    const serverName = req.params.server ?? '';
    await requireScope(ctx, req, 'delete:servers', serverTarget(req.params.name, serverName));
    const user = await findUserOr404(ctx, req.params.name);
    const remove = Boolean((req.body as { remove?: unknown } | undefined)?.remove);
    if (serverName && !ctx.config.allow_named_servers && !(await ctx.serverProfiles.owns(serverName))) throw new HubError(400, 'Named servers are not enabled.');
    if (!serverName && remove) throw new HubError(400, 'Cannot delete the default server');
    const server = await ctx.servers.get(user.id, serverName);
    if (!server) throw new HubError(404, `${user.name} has no server named '${serverName}'`);
    if (server.phase === 'stopping') {
      if (remove) void ctx.lifecycle.settled(server.id).then(() => ctx.servers.delete(server.id));
      return emptyReply(reply, 202);
    }
    if (server.phase === 'spawning') throw new HubError(400, `${logName(user.name, serverName)} is pending spawn, please wait`);
    let result: 'stopped' | 'pending' = 'stopped';
    if (server.phase === 'running') result = await ctx.lifecycle.stop(user, server);
    if (remove) {
      if (result === 'pending') void ctx.lifecycle.settled(server.id).then(() => ctx.servers.delete(server.id));
      else await ctx.servers.delete(server.id);
    }
    return emptyReply(reply, result === 'pending' ? 202 : 204);
  };

  const progress = async (req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) => {
    const serverName = req.params.server ?? '';
    await requireScope(ctx, req, 'read:servers', serverTarget(req.params.name, serverName));
    const user = await findUserOr404(ctx, req.params.name);
    const server = await ctx.servers.get(user.id, serverName);
    if (!server) throw new HubError(404, `${user.name} has no server named '${serverName}'`);
    const url = ctx.urls.userServerUrl(user.name, serverName);
    const readyEvent = { progress: 100, ready: true, message: `Server ready at ${url}`, html_message: `Server ready at <a href="${url}">${url}</a>`, url };
    const failedEvent = (message: string) => ({ progress: 100, failed: true, message: `Spawn failed: ${message}` });
    const channel = ctx.lifecycle.progress.get(server.id);
    if (!channel && server.phase !== 'spawning') {
      if (server.phase === 'running') return sendEvents(reply, [readyEvent]);
      if (server.failure) return sendEvents(reply, [failedEvent(server.failure)]);
      throw new HubError(400, `${logName(user.name, serverName)} is not starting...`);
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    const write = (e: object) => res.write(`data: ${JSON.stringify(e)}\n\n`);
    if (!channel) {
      // Spawning according to the database but started by a previous hub: nothing to stream but the ending.
      write({ progress: 50, message: 'Server is starting' });
      res.end();
      return;
    }
    const keepalive = setInterval(() => res.write('\n\n'), 8000);
    const unsubscribe = channel.subscribe((e: ProgressEvent) => write(e));
    req.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
    const outcome = await channel.done;
    clearInterval(keepalive);
    unsubscribe();
    write(outcome.ready ? readyEvent : failedEvent(outcome.message));
    res.end();
  };

  app.post<{ Params: ServerParams }>('/users/:name/server', start);
  app.post<{ Params: ServerParams }>('/users/:name/servers/:server', start);
  app.delete<{ Params: ServerParams }>('/users/:name/server', stop);
  app.delete<{ Params: ServerParams }>('/users/:name/servers/:server', stop);
  app.get<{ Params: ServerParams }>('/users/:name/server/progress', progress);
  app.get<{ Params: ServerParams }>('/users/:name/servers/:server/progress', progress);
}

function sendEvents(reply: FastifyReply, events: object[]): FastifyReply {
  return reply
    .type('text/event-stream')
    .header('Cache-Control', 'no-cache')
    .send(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(''));
}
