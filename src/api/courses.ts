/**
 * /hub/api/courses: course requests, review, participants, join codes and archives (Ganymede's own
 * API; JupyterHub has no courses). Who may do what is decided by the course service from the
 * caller's scopes (docs/courses.md lists them per endpoint).
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import type { CourseService } from '../courses/service.js';
import { CourseServers } from '../courses/servers.js';
import { ParticipantFiles, type ZipDownload } from '../courses/participant-files.js';
import { COURSE_STATES } from '../courses/state-machine.js';
import { JOIN_CODE_FAILURES } from '../courses/join-code.js';
import { archiveUrl, changeModel, eventModel, memberModel } from '../courses/models.js';
import { type HubContext, emptyReply, requireCaller } from '../http/context.js';
import { openEventStream } from '../http/event-stream.js';
import { api, caller } from '../rbac/route-policy.js';

type Slug = { Params: { slug: string } };
type Body = Record<string, unknown>;

function bodyOf(req: FastifyRequest): Body {
  const b = req.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b) || b === null) throw new HubError(400, 'The body must be a JSON object');
  return b as Body;
}

function optionalText(b: Body, key: string): string | null {
  const v = b[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new HubError(400, `${key} must be a string`);
  return v.trim() || null;
}

function wantsEventStream(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

export function registerCourseRoutes(app: FastifyInstance, ctx: HubContext, courses: CourseService): void {
  app.get<{ Querystring: { state?: string } }>('/courses', api(caller('any user or token; lists the courses the caller may see')), async (req) => {
    const caller = requireCaller(req);
    const states = req.query.state ? req.query.state.split(',') : undefined;
    const unknown = states?.filter((s) => !(COURSE_STATES as readonly string[]).includes(s));
    if (unknown?.length) throw new HubError(400, `Unknown course states: ${unknown.join(', ')} (known: ${COURSE_STATES.join(', ')})`);
    const rows = await courses.list(caller, { states });
    return Promise.all(rows.map(({ course, member }) => courses.model(caller, course, member)));
  });

  app.post('/courses', api(caller('courses:request (a user)')), async (req, reply) => {
    const caller = requireCaller(req);
    const row = await courses.request(caller, req.body ?? {});
    return reply.code(201).send(await courses.model(caller, row, await courses.membership(caller, row)));
  });

  app.get<Slug>('/courses/:slug', api(caller('a member, or read:courses on the course')), async (req) => {
    const caller = requireCaller(req);
    const { course, member } = await courses.visible(caller, req.params.slug);
    const model = await courses.model(caller, course, member);
    if (courses.canReview(caller, course)) model.load = await courses.load(course);
    return model;
  });

  app.patch<Slug>('/courses/:slug', api(caller('courses:manage on the course')), async (req) => {
    const caller = requireCaller(req);
    const row = await courses.edit(caller, req.params.slug, bodyOf(req));
    return courses.model(caller, row, await courses.membership(caller, row));
  });

  const decision = (run: (caller: ReturnType<typeof requireCaller>, slug: string, b: Body) => ReturnType<CourseService['approve']>) => async (req: FastifyRequest<Slug>) => {
    const caller = requireCaller(req);
    const row = await run(caller, req.params.slug, bodyOf(req));
    return courses.model(caller, row, await courses.membership(caller, row));
  };
  app.post<Slug>('/courses/:slug/approve', api(caller('courses:review')), decision((c, slug, b) => courses.approve(c, slug, optionalText(b, 'comment'))));
  app.post<Slug>('/courses/:slug/reject', api(caller('courses:review')), decision((c, slug, b) => courses.reject(c, slug, b.reason)));
  app.post<Slug>('/courses/:slug/comment', api(caller('courses:review')), decision((c, slug, b) => courses.requestChanges(c, slug, b.comment)));
  app.post<Slug>('/courses/:slug/cancel', api(caller('courses:manage on the course, or courses:review')), decision((c, slug, b) => courses.cancel(c, slug, optionalText(b, 'reason'))));

  // Changes after approval: proposed by teachers, decided by governance.
  app.get<Slug>('/courses/:slug/changes', api(caller('read:courses on the course')), async (req) => (await courses.changes(requireCaller(req), req.params.slug)).changes.map(changeModel));
  app.post<Slug>('/courses/:slug/changes', api(caller('courses:manage on the course')), async (req, reply) => {
    const change = await courses.proposeChange(requireCaller(req), req.params.slug, bodyOf(req));
    return reply.code(201).send(changeModel(change));
  });
  type ChangeParams = { Params: { slug: string; id: string } };
  app.post<ChangeParams>('/courses/:slug/changes/:id/approve', api(caller('courses:review')), async (req) =>
    changeModel(await courses.approveChange(requireCaller(req), req.params.slug, Number(req.params.id), optionalText(bodyOf(req), 'comment'))),
  );
  app.post<ChangeParams>('/courses/:slug/changes/:id/reject', api(caller('courses:review')), async (req) =>
    changeModel(await courses.rejectChange(requireCaller(req), req.params.slug, Number(req.params.id), bodyOf(req).comment)),
  );
  app.post<Slug>('/courses/:slug/retry', api(caller('courses:manage on the course')), decision((c, slug) => courses.retry(c, slug)));

  // The control room: participants' servers, and starting or stopping them all (or those named).
  const rooms = new CourseServers(ctx, courses);
  app.get<Slug>('/courses/:slug/servers', api(caller('read:courses on the course')), async (req) => rooms.list(requireCaller(req), req.params.slug));
  // Teachers push an update of the course content into the running servers (stopped ones get it at their next start).
  const roomActions = [
    ['start', 'servers/start', 'start:servers'],
    ['stop', 'servers/stop', 'delete:servers'],
    ['content', 'content/update', 'access:servers'],
  ] as const;
  for (const [action, path, needs] of roomActions) {
    app.post<Slug>(`/courses/:slug/${path}`, api(caller(`courses:manage on the course; ${needs} on each member's server`)), async (req, reply) => {
      const plan = await rooms.plan(requireCaller(req), req.params.slug, action, bodyOf(req).users);
      if (!wantsEventStream(req)) return { results: await rooms.carryOut(plan) };
      // As each participant's server is done, one event; then one with every result.
      const stream = openEventStream(reply);
      try {
        const results = await rooms.carryOut(plan, (r) => stream.send(r));
        stream.send({ done: true, results });
      } catch (err) {
        req.log.error({ err: (err as Error).message, course: plan.course.slug, action }, 'course servers: could not finish');
        stream.send({ done: true, failed: true, message: 'The hub could not finish: see its log' });
      } finally {
        stream.end();
      }
      return reply;
    });
  }

  // Participants' files: everyone's as they are now (a zip), and hand-in collections.
  const participantFiles = new ParticipantFiles(courses);
  const sendZip = (reply: FastifyReply, zip: ZipDownload) =>
    reply.type('application/zip').header('Content-Disposition', `attachment; filename="${zip.filename}"`).header('Cache-Control', 'no-store').send(zip.stream);
  app.get<Slug>('/courses/:slug/files', api(caller('courses:manage on the course')), async (req, reply) => sendZip(reply, await participantFiles.currentFiles(requireCaller(req), req.params.slug)));
  app.post<Slug>('/courses/:slug/collect', api(caller('courses:manage on the course')), async (req) => participantFiles.collect(requireCaller(req), req.params.slug, bodyOf(req)));
  app.get<Slug>('/courses/:slug/collections', api(caller('courses:manage on the course; a participant sees their own')), async (req) => participantFiles.collections(requireCaller(req), req.params.slug));
  app.get<{ Params: { slug: string; assignment: string }; Querystring: { at?: string } }>(
    '/courses/:slug/collections/:assignment',
    api(caller('courses:manage on the course; a participant downloads their own')),
    async (req, reply) => sendZip(reply, await participantFiles.collectionZip(requireCaller(req), req.params.slug, req.params.assignment, req.query.at)),
  );

  // A teacher's e-mail to the participants.
  app.post<Slug>('/courses/:slug/messages', api(caller('courses:manage on the course')), async (req, reply) =>
    reply.code(202).send(await courses.message(requireCaller(req), req.params.slug, bodyOf(req))),
  );

  app.get<Slug>('/courses/:slug/events', api(caller('read:courses on the course')), async (req) => (await courses.events(requireCaller(req), req.params.slug)).map(eventModel));

  app.get<Slug>('/courses/:slug/participants', api(caller('read:courses on the course')), async (req) => {
    const { members } = await courses.participants(requireCaller(req), req.params.slug);
    return members.map(memberModel);
  });

  // Apply with the join code (or join at once when the teacher chose auto-accept).
  app.post<Slug>('/courses/:slug/participants', api(caller('courses:join for oneself, with the join code')), async (req, reply) => {
    const caller = requireCaller(req);
    const account = caller.principal.kind === 'user' ? caller.principal.user.name : undefined;
    // A join code is a secret: wrong (404) and expired (410) codes count as guesses (src/http/guess-limits.ts).
    const { status } = await ctx.guessing.guarded('join', { client: req.ip, account }, () => courses.apply(caller, req.params.slug, bodyOf(req)), JOIN_CODE_FAILURES);
    return reply.code(status === 'accepted' ? 201 : 202).send({ course: req.params.slug, status });
  });

  // A participant accepts a new version of the terms of use (their next start asks for it).
  app.post<Slug>('/courses/:slug/terms', api(caller('courses:join for oneself (a participant)')), async (req) =>
    memberModel(await courses.acceptTerms(requireCaller(req), req.params.slug, bodyOf(req))),
  );

  const decide = (status: 'accepted' | 'rejected') => async (req: FastifyRequest<Slug>) => {
    const caller = requireCaller(req);
    await courses.decide(caller, req.params.slug, bodyOf(req).users, status);
    const { members } = await courses.participants(caller, req.params.slug);
    return members.map(memberModel);
  };
  app.post<Slug>('/courses/:slug/participants/accept', api(caller('courses:manage on the course')), decide('accepted'));
  app.post<Slug>('/courses/:slug/participants/reject', api(caller('courses:manage on the course')), decide('rejected'));

  app.delete<{ Params: { slug: string; user: string } }>('/courses/:slug/participants/:user', api(caller('courses:manage on the course')), async (req, reply) => {
    await courses.remove(requireCaller(req), req.params.slug, req.params.user);
    return emptyReply(reply, 204);
  });

  // A participant leaves (their own name), or a teacher removes one (as DELETE …/participants/{user}).
  app.delete<{ Params: { slug: string; user: string } }>('/courses/:slug/members/:user', api(caller('courses:join for oneself; courses:manage on the course for others')), async (req, reply) => {
    const caller = requireCaller(req);
    if (caller.principal.kind === 'user' && caller.principal.user.name === req.params.user) await courses.leave(caller, req.params.slug);
    else await courses.remove(caller, req.params.slug, req.params.user);
    return emptyReply(reply, 204);
  });

  app.post<Slug>('/courses/:slug/join-code', api(caller('courses:manage on the course')), async (req) => {
    const caller = requireCaller(req);
    const row = await courses.rotateJoinCode(caller, req.params.slug, bodyOf(req));
    return { code: courses.joinCodeOf(row), url: courses.joinUrl(row), expires_at: row.join_expires_at, auto_accept: row.auto_accept === 1 };
  });

  app.get<Slug>('/courses/:slug/archive', api(caller('courses:manage on the course')), async (req) => {
    const { course, files } = await courses.archives(requireCaller(req), req.params.slug);
    return files.map((f) => ({ user: f.user, bytes: f.bytes, url: archiveUrl(ctx.urls, course.slug, f.user) }));
  });

  app.get<{ Params: { slug: string; user: string } }>('/courses/:slug/archive/:user', api(caller('courses:manage on the course')), async (req, reply) => {
    const { files } = await courses.archives(requireCaller(req), req.params.slug);
    const found = files.find((f) => f.user === req.params.user);
    if (!found) throw new HubError(404, `No archive of ${req.params.user} in course ${req.params.slug}`);
    return reply
      .type('application/gzip')
      .header('Content-Disposition', `attachment; filename="${req.params.slug}-${found.file.split('/').pop()}"`)
      .header('Content-Length', String(found.bytes))
      .send(createReadStream(found.file));
  });
}
