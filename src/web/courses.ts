/**
 * The course pages under /hub/courses: my courses, the request form, the review page, a course's
 * page with its teachers' and reviewers' tools, and the join page. Every action goes through the
 * course service, which checks the caller's scopes; forms post with `_xsrf` and redirect (303) back.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from '../http/context.js';
import type { FieldErrors } from '../courses/request.js';
import { requestBodyOf, type CourseService } from '../courses/service.js';
import type { CourseRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import { escapePathSegment } from '../hub/urls.js';
import { COURSE_FIELDS, formValues, requestBody, utcOfDateTimeLocal, valuesOfRequest, type CourseFormValues } from './course-form.js';
import { courseDetails, coursePageView, coursesOf, currentValues, reviewActions } from './course-views.js';
import { CHANGEABLE_FIELDS } from '../courses/changes.js';
import { loggedIn, pageContext, redirectToLogin, safeNext, sendPage, type PageCaller } from './render.js';
import { courseFormPage, coursePage, coursesPage, joinPage, reviewPage, type CourseFormView, type ReviewItem } from './templates/index.js';
import { wallClock } from '../clock.js';
import { JOIN_CODE_FAILURES } from '../courses/join-code.js';
import { caller, page } from '../rbac/route-policy.js';
import { CourseServers } from '../courses/servers.js';
import { ParticipantFiles } from '../courses/participant-files.js';

type Slug = { Params: { slug: string } };
type Form = Record<string, unknown>;


/** Whether a typed value is the course's current one: the same moment for dates, the same text whatever the line ends. */
function sameValue(field: string, typed: unknown, current: unknown): boolean {
  if ((field === 'starts_at' || field === 'ends_at') && typeof typed === 'string' && typeof current === 'string') return Date.parse(typed) === Date.parse(current);
  if (typeof typed === 'string' && typeof current === 'string') return typed.replace(/\r\n/g, '\n').trim() === current.replace(/\r\n/g, '\n').trim();
  return JSON.stringify(typed) === JSON.stringify(current);
}

function formOf(req: FastifyRequest): Form {
  const b = req.body;
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Form) : {};
}

/** A form field's value (the first, if it came more than once). */
function field(form: Form, name: string): string | undefined {
  const v = Array.isArray(form[name]) ? (form[name] as unknown[])[0] : form[name];
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a repeated field (checkboxes). */
function fieldList(form: Form, name: string): string[] {
  const v = form[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string' && x !== '');
}

/** The problems by field of a 400 from the service (the form's own wording first), ordered as the form; null for any other error. */
function formErrors(err: unknown, problems: FieldErrors): FieldErrors | null {
  if (!(err instanceof HubError) || err.status !== 400) return null;
  const fromService = (err.extra.errors ?? { request: err.message }) as FieldErrors;
  const merged: FieldErrors = { ...fromService, ...problems };
  const rank = (k: string) => {
    const i = (COURSE_FIELDS as readonly string[]).indexOf(k);
    return i < 0 ? COURSE_FIELDS.length : i;
  };
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => rank(a) - rank(b)));
}

export function registerCoursePages(app: FastifyInstance, ctx: HubContext, courses: CourseService): void {
  const coursePath = (slug: string) => `${ctx.urls.hub}courses/${escapePathSegment(slug)}`;
  const pageCtx = (req: FastifyRequest, reply: FastifyReply, caller: PageCaller) => pageContext(ctx, req, reply, caller.principal.user);

  /** The signed-in caller of a form post with its XSRF token checked; null after sending them to log in (then to `back`). */
  const poster = async (req: FastifyRequest, reply: FastifyReply, back: string): Promise<PageCaller | null> => {
    const caller = await loggedIn(ctx, req);
    if (!caller) {
      reply.redirect(`${ctx.urls.hub}login?next=${encodeURIComponent(back)}`, 302);
      return null;
    }
    return caller;
  };

  const formView = (values: CourseFormValues, errors: FieldErrors, editing: CourseRow | null): CourseFormView => {
    const c = courses.config;
    return {
      editing: editing && { slug: editing.slug, title: editing.title },
      values,
      errors,
      environments: Object.entries(c.environments).map(([name, e]) => ({ name, description: e.description })),
      limits: { ...c.limits, participants: c.max_participants, days: c.max_duration_days },
      terms: courses.terms(),
      nowUtc: new Date(wallClock.now()).toISOString().slice(0, 16).replace('T', ' '),
    };
  };

  // ------------------------------------------------------------------------------------------
  // my courses

  app.get('/courses', page(caller('any user: the courses they may see')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const mine = await coursesOf(ctx, courses, caller);
    const pendingReviews = courses.canReview(caller) ? (await courses.list(caller, { states: ['pending'] })).length : null;
    return sendPage(reply, coursesPage(pageCtx(req, reply, caller), { ...mine, canRequest: courses.canRequest(caller), pendingReviews }));
  });

  // ------------------------------------------------------------------------------------------
  // requesting and editing

  app.get('/courses/new', page(caller('courses:request')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    if (!courses.canRequest(caller)) throw new HubError(403, 'You may not request courses: ask the hub’s administrators for the course-requester role');
    const l = courses.config.limits;
    const values: CourseFormValues = {
      environment: Object.keys(courses.config.environments)[0] ?? 'custom',
      expected_participants: '20',
      'resources.cpu': String(Math.min(1, l.cpu)),
      'resources.memory_gb': String(Math.min(2, l.memory_gb)),
      'resources.storage_gb': String(Math.min(1, l.storage_gb)),
      'resources.gpu': '0',
    };
    return sendPage(reply, courseFormPage(pageCtx(req, reply, caller), formView(values, {}, null)));
  });

  app.post('/courses/new', page(caller('courses:request')), async (req, reply) => {
    const caller = await poster(req, reply, `${ctx.urls.hub}courses/new`);
    if (!caller) return reply;
    const values = formValues(req.body);
    const { body, problems } = requestBody(values);
    try {
      const row = await courses.request(caller, body);
      return reply.redirect(coursePath(row.slug), 303);
    } catch (err) {
      const errors = formErrors(err, problems);
      if (!errors) throw err;
      return sendPage(reply, courseFormPage(pageCtx(req, reply, caller), formView(values, errors, null)), 400);
    }
  });

  /** The course a teacher may edit now, or the HubError saying why not. */
  const editable = async (caller: PageCaller, slug: string): Promise<CourseRow> => {
    const { course } = await courses.visible(caller, slug);
    if (!courses.canManage(caller, course)) throw new HubError(403, `Only the teachers of ${course.title} may edit it`);
    if (!courses.canDo(course, 'edit')) throw new HubError(409, `${course.title} can no longer be edited: it is ${course.state}`);
    return course;
  };

  app.get<Slug>('/courses/:slug/edit', page(caller('courses:manage on the course')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const course = await editable(caller, req.params.slug);
    const teachers = (await courses.participants(caller, course.slug)).members.filter((m) => m.role === 'teacher');
    const values = valuesOfRequest(requestBodyOf(course, teachers));
    return sendPage(reply, courseFormPage(pageCtx(req, reply, caller), formView(values, {}, course)));
  });

  app.post<Slug>('/courses/:slug/edit', page(caller('courses:manage on the course')), async (req, reply) => {
    const caller = await poster(req, reply, `${coursePath(req.params.slug)}/edit`);
    if (!caller) return reply;
    const course = await editable(caller, req.params.slug);
    const values = formValues(req.body);
    const { body, problems } = requestBody(values);
    try {
      await courses.edit(caller, course.slug, { ...body, slug: course.slug });
      return reply.redirect(coursePath(course.slug), 303);
    } catch (err) {
      const errors = formErrors(err, problems);
      if (!errors) throw err;
      return sendPage(reply, courseFormPage(pageCtx(req, reply, caller), formView(values, errors, course)), 400);
    }
  });

  // ------------------------------------------------------------------------------------------
  // review

  app.get('/courses/review', page(caller('courses:review')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    if (!courses.canReview(caller)) throw new HubError(403, 'Reviewing course requests needs the courses:review scope (the course-governance role)');
    const items: ReviewItem[] = [];
    for (const { course } of await courses.list(caller, { states: ['pending', 'changes_requested'] })) {
      const { details } = await courseDetails(courses, caller, course);
      items.push({ course: details, load: await courses.load(course), actions: reviewActions(courses, course) });
    }
    return sendPage(reply, reviewPage(pageCtx(req, reply, caller), { items }));
  });

  // Decisions on a course; each goes back to the form's `next` (a local path) or the course page.
  const decisions: Record<string, (caller: PageCaller, slug: string, form: Form) => Promise<unknown>> = {
    approve: (c, slug, f) => courses.approve(c, slug, field(f, 'comment')?.trim() || null),
    reject: (c, slug, f) => courses.reject(c, slug, field(f, 'reason')),
    comment: (c, slug, f) => courses.requestChanges(c, slug, field(f, 'comment')),
    cancel: (c, slug, f) => courses.cancel(c, slug, field(f, 'reason')?.trim() || null),
  };
  for (const [action, decide] of Object.entries(decisions)) {
    app.post<Slug>(`/courses/:slug/${action}`, page(caller('courses:review (cancel: also courses:manage on the course)')), async (req, reply) => {
      const back = coursePath(req.params.slug);
      const caller = await poster(req, reply, back);
      if (!caller) return reply;
      const form = formOf(req);
      await decide(caller, req.params.slug, form);
      return reply.redirect(safeNext(ctx, field(form, 'next')) ?? back, 303);
    });
  }

  // ------------------------------------------------------------------------------------------
  // a course

  app.get<Slug & { Querystring: { sent?: string; without?: string } }>('/courses/:slug', page(caller('a member, or read:courses on the course')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    // After a message: how many got it (the page's own redirect says so; only counts, nothing to inject).
    const count = (v: string | undefined) => (v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : null);
    const recipients = count(req.query.sent);
    const messageSent = recipients === null ? undefined : { recipients, withoutAddress: count(req.query.without) ?? 0 };
    return sendPage(reply, coursePage(pageCtx(req, reply, caller), await coursePageView(ctx, courses, caller, req.params.slug, { messageSent })));
  });

  app.post<Slug>('/courses/:slug/collect', page(caller('courses:manage on the course')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    await new ParticipantFiles(courses).collect(caller, req.params.slug, { assignment: field(formOf(req), 'assignment') });
    return reply.redirect(`${back}#hand-in-title`, 303);
  });

  app.post<Slug>('/courses/:slug/messages', page(caller('courses:manage on the course')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    const form = formOf(req);
    const users = fieldList(form, 'users');
    if (users.length === 0) throw new HubError(400, 'Tick at least one participant to write to');
    const sent = await courses.message(caller, req.params.slug, { subject: field(form, 'subject'), text: field(form, 'text'), users });
    return reply.redirect(`${back}?sent=${sent.recipients}&without=${sent.without_address.length}#message-title`, 303);
  });

  app.post<Slug>('/courses/:slug/join-code', page(caller('courses:manage on the course')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    const form = formOf(req);
    const expires = field(form, 'expires_at')?.trim() ?? '';
    await courses.rotateJoinCode(caller, req.params.slug, {
      // datetime-local, read as UTC (the form says so); anything else goes to the service as typed, which refuses it
      expires_at: expires === '' ? null : (utcOfDateTimeLocal(expires) ?? expires),
      auto_accept: field(form, 'auto_accept') === '1',
      rotate: field(form, 'rotate') !== '0',
    });
    return reply.redirect(`${back}#join-title`, 303);
  });

  app.post<Slug>('/courses/:slug/participants', page(caller('courses:manage on the course')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    const form = formOf(req);
    const users = fieldList(form, 'users');
    if (users.length === 0) throw new HubError(400, 'Select at least one participant');
    const action = field(form, 'action');
    if (action === 'accept' || action === 'reject') {
      await courses.decide(caller, req.params.slug, users, action === 'accept' ? 'accepted' : 'rejected');
    } else if (action === 'remove') {
      for (const name of users) await courses.remove(caller, req.params.slug, name);
    } else {
      throw new HubError(400, 'action must be accept, reject or remove');
    }
    return reply.redirect(`${back}#participants-title`, 303);
  });

  // Changes after approval: a teacher proposes (the fields that differ from the course), governance decides.
  app.post<Slug>('/courses/:slug/changes', page(caller('courses:manage on the course')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    const { course } = await courses.visible(caller, req.params.slug);
    // The form has every changeable field, as it is now: the change is what differs (the start only while it can).
    const values = formValues(req.body);
    const { body, problems } = requestBody(values);
    const current = await currentValues(courses, caller, course);
    const typedCurrent = requestBody(current).body;
    const change: Record<string, unknown> = {};
    for (const name of CHANGEABLE_FIELDS) {
      if (name === 'starts_at' && values.starts_at === undefined) continue;
      if (!sameValue(name, body[name], typedCurrent[name])) change[name] = body[name];
    }
    const shown = Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
    try {
      const relevant = Object.fromEntries(Object.entries(problems).filter(([k]) => CHANGEABLE_FIELDS.some((f) => k === f || k.startsWith(`${f}.`)) && !(k === 'starts_at' && values.starts_at === undefined)));
      if (Object.keys(relevant).length) throw new HubError(400, 'The change has problems', {}, { errors: relevant });
      await courses.proposeChange(caller, req.params.slug, change);
    } catch (err) {
      if (!(err instanceof HubError) || err.status !== 400) throw err;
      const errors = (err.extra.errors ?? { request: err.message }) as Record<string, string>;
      return sendPage(reply, coursePage(pageCtx(req, reply, caller), await coursePageView(ctx, courses, caller, req.params.slug, { changeForm: { values: shown, errors } })), 400);
    }
    return reply.redirect(`${back}#changes-title`, 303);
  });

  app.post<{ Params: { slug: string; id: string } }>('/courses/:slug/changes/:id', page(caller('courses:review')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    const form = formOf(req);
    const id = Number(req.params.id);
    const decision = field(form, 'decision');
    if (decision === 'approve') await courses.approveChange(caller, req.params.slug, id, field(form, 'comment')?.trim() || null);
    else if (decision === 'reject') await courses.rejectChange(caller, req.params.slug, id, field(form, 'comment'));
    else throw new HubError(400, 'decision must be approve or reject');
    return reply.redirect(`${back}#changes-title`, 303);
  });

  // The control room without JavaScript: start, stop (all, or the participant of the row's button) or push the content, then back.
  // With JavaScript, courses.js calls the API instead and shows each participant's result as it comes.
  const rooms = new CourseServers(ctx, courses);
  app.post<Slug>('/courses/:slug/servers', page(caller("courses:manage on the course; start:servers, delete:servers or access:servers on each member's server")), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    const form = formOf(req);
    const action = field(form, 'action');
    if (action !== 'start' && action !== 'stop' && action !== 'content') throw new HubError(400, 'action must be start, stop or content');
    const users = fieldList(form, 'users');
    await rooms.carryOut(await rooms.plan(caller, req.params.slug, action, users.length ? users : undefined));
    return reply.redirect(`${back}#servers-title`, 303);
  });

  app.post<Slug>('/courses/:slug/retry', page(caller('courses:manage on the course')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    await courses.retry(caller, req.params.slug);
    return reply.redirect(back, 303);
  });

  app.post<Slug>('/courses/:slug/terms', page(caller('courses:join for oneself (a participant)')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    await courses.acceptTerms(caller, req.params.slug, { accepted_terms_version: field(formOf(req), 'accepted_terms_version') });
    return reply.redirect(back, 303);
  });

  app.post<Slug>('/courses/:slug/leave', page(caller('courses:join for oneself (a participant)')), async (req, reply) => {
    const back = coursePath(req.params.slug);
    const caller = await poster(req, reply, back);
    if (!caller) return reply;
    await courses.leave(caller, req.params.slug);
    return reply.redirect(`${ctx.urls.hub}courses`, 303);
  });

  // ------------------------------------------------------------------------------------------
  // joining with the code

  /** A teacher, an accepted or a waiting applicant has nothing to join; a rejected one may apply again. */
  const alreadyIn = async (caller: PageCaller, course: CourseRow) => {
    const status = (await courses.membership(caller, course))?.status;
    return status === 'accepted' || status === 'applied';
  };

  /** A join code is a secret: wrong (404) and expired (410) codes count as guesses (src/http/guess-limits.ts). */
  const joinGuarded = <T>(req: FastifyRequest, caller: PageCaller, attempt: () => Promise<T>): Promise<T> =>
    ctx.guessing.guarded('join', { client: req.ip, account: caller.principal.user.name }, attempt, JOIN_CODE_FAILURES);

  app.get<Slug & { Querystring: { code?: string } }>('/courses/:slug/join', page(caller('courses:join for oneself, with the join code')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const course = await joinGuarded(req, caller, () => courses.joinable(req.params.slug, req.query.code));
    if (await alreadyIn(caller, course)) return reply.redirect(coursePath(course.slug), 302);
    return sendPage(reply, await renderJoin(req, reply, caller, course, req.query.code ?? '', ''));
  });

  app.post<Slug & { Querystring: { code?: string } }>('/courses/:slug/join', page(caller('courses:join for oneself, with the join code')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    // The form's action carries the code: after logging in, the join page shows again.
    if (!caller) return redirectToLogin(ctx, req, reply);
    const form = formOf(req);
    const code = field(form, 'code') ?? req.query.code ?? '';
    const email = field(form, 'email') ?? '';
    const course = await joinGuarded(req, caller, () => courses.joinable(req.params.slug, code));
    if (await alreadyIn(caller, course)) return reply.redirect(coursePath(course.slug), 303);
    try {
      await courses.apply(caller, course.slug, { code, email, accepted_terms_version: field(form, 'accepted_terms_version') });
    } catch (err) {
      if (!(err instanceof HubError) || err.status !== 400) throw err;
      const errors = (err.extra.errors as FieldErrors | undefined) ?? {};
      const message = errors.email?.replace(/^An e-mail/, 'Enter an e-mail') ?? (errors.accepted_terms_version ? undefined : err.message);
      return sendPage(reply, await renderJoin(req, reply, caller, course, code, email, message, errors.accepted_terms_version), 400);
    }
    return reply.redirect(coursePath(course.slug), 303);
  });

  const renderJoin = async (req: FastifyRequest, reply: FastifyReply, caller: PageCaller, course: CourseRow, code: string, email: string, error?: string, termsError?: string) => {
    const { details } = await courseDetails(courses, caller, course);
    return joinPage(pageCtx(req, reply, caller), {
      course: { slug: course.slug, title: course.title, description: course.description, startsAt: course.starts_at, endsAt: course.ends_at, teachers: details.teachers },
      code,
      autoAccept: course.auto_accept === 1,
      email,
      terms: courses.terms(),
      error,
      termsError,
    });
  };
}
