/** Starting and stopping servers, and the spawn progress event stream. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import type { JsonObject, ProgressEvent } from '../spawners/spawner.js';
import { type HubContext, emptyReply, findUserOr404, requireCaller } from '../http/context.js';
import { api, caller, scopes } from '../rbac/route-policy.js';
import { logName, startServer } from '../hub/start-server.js';
import { openEventStream } from '../http/event-stream.js';

type ServerParams = { name: string; server?: string };

export function registerServerRoutes(app: FastifyInstance, ctx: HubContext): void {
  // batchspawner's wrapper protocol: the server inside a batch job, with its own API token, says which
  // port it took on its node. The host is not taken from the body but from Slurm (the job's node), so a
  // token cannot point the proxy elsewhere.
  app.post('/batchspawner', api(caller("only a server's own API token, for its own server")), async (req, reply) => {
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
    const user = await findUserOr404(ctx, req.params.name);
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'user options must be a JSON object');
    const { status } = await startServer(ctx, user, serverName, body as JsonObject);
    return emptyReply(reply, status === 'ready' ? 201 : 202);
  };

  const stop = async (req: FastifyRequest<{ Params: ServerParams }>, reply: FastifyReply) => {
    const serverName = req.params.server ?? '';
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
    const stream = openEventStream(reply);
    if (!channel) {
      // Spawning according to the database but started by a previous hub: nothing to stream but the ending.
      stream.send({ progress: 50, message: 'Server is starting' });
      stream.end();
      return;
    }
    const unsubscribe = channel.subscribe((e: ProgressEvent) => stream.send(e));
    req.raw.on('close', () => {
      unsubscribe();
      stream.end();
    });
    const outcome = await channel.done;
    unsubscribe();
    stream.send(outcome.ready ? readyEvent : failedEvent(outcome.message));
    stream.end();
  };

  const server = { server: ['name', 'server'] } as const;
  for (const path of ['/users/:name/server', '/users/:name/servers/:server']) {
    app.post<{ Params: ServerParams }>(path, api(scopes(['start:servers'], server)), start);
    app.delete<{ Params: ServerParams }>(path, api(scopes(['delete:servers'], server)), stop);
    app.get<{ Params: ServerParams }>(`${path}/progress`, api(scopes(['read:servers'], server)), progress);
  }
}

function sendEvents(reply: FastifyReply, events: object[]): FastifyReply {
  return reply
    .type('text/event-stream')
    .header('Cache-Control', 'no-cache')
    .send(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(''));
}
