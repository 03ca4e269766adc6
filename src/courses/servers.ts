/**
 * The teacher's control room: the participants' course servers with their state and resource use,
 * and starting or stopping many of them at once, with one result per participant as each finishes.
 *
 * Who may: `courses:manage` on the course for the room itself, and for each participant the scope a
 * single start or stop needs (`start:servers` / `delete:servers` on that participant's server, which
 * the teachers' role holds through the course's group while the course is open). A token holding
 * only `courses:manage` therefore starts and stops nothing.
 */
import type { CourseMemberStatus, CourseRow, ServerRow, UserRow } from '../db/schema.js';
import type { MemberWithName } from '../db/repos/courses.js';
import { HubError } from '../errors.js';
import type { Caller } from '../hub/access.js';
import { mapInBatches } from '../hub/batches.js';
import { startServer, type StartServerDeps } from '../hub/start-server.js';
import type { HubUrls } from '../hub/urls.js';
import { escapePathSegment } from '../hub/urls.js';
import { checkScope } from '../rbac/scopes.js';
import { courseGroup, type CourseService } from './service.js';
import { participantsMayStart, type CourseState } from './state-machine.js';
import { acceptedParticipants, selectParticipants } from './selection.js';

/** How many starts or stops run at once. */
const AT_ONCE = 8;

/** Start or stop servers, or bring the course content in running servers up to date (a teacher's push). */
export type ServerAction = 'start' | 'stop' | 'content';

export type ServerOutcome =
  | 'ready'
  | 'starting'
  | 'already running'
  | 'stopped'
  | 'stopping'
  | 'not running'
  | 'updated'
  | 'cloned'
  | 'at next start'
  | 'failed'
  | 'refused';

/** How each action is named in the course's history. */
const HISTORY: Record<ServerAction, string> = { start: 'start_servers', stop: 'stop_servers', content: 'push_content' };

/** The scope each action needs on a participant's server: pushing content writes in their files, as their server does. */
const SCOPE: Record<ServerAction, string> = { start: 'start:servers', stop: 'delete:servers', content: 'access:servers' };

/** What happened to one participant's server. */
export interface ServerResult {
  user: string;
  result: ServerOutcome;
  /** Why it failed or was refused. */
  message?: string;
  /** For a start still under way: its progress stream (`GET`, as JupyterHub's). */
  progress_url?: string;
}

export type ServerPhaseName = 'running' | 'starting' | 'stopping' | 'stopped';

/** A participant and their course server, as the control room shows them. */
export interface ParticipantServer {
  user: string;
  status: CourseMemberStatus;
  server: {
    state: ServerPhaseName;
    url: string;
    started: string | null;
    last_activity: string | null;
    /** Why the last start failed. */
    failure: string | null;
    /** Where the spawner reads them (servers in their own cgroup); null otherwise. */
    memory_bytes: number | null;
    memory_limit_bytes: number | null;
    cpu_seconds: number | null;
  };
}

/** A checked start or stop of participants' servers. */
export interface ServerPlan {
  caller: Caller;
  course: CourseRow;
  action: ServerAction;
  participants: MemberWithName[];
}

export interface CourseServersDeps extends StartServerDeps {
  urls: HubUrls;
}

const PHASE: Record<ServerRow['phase'], ServerPhaseName> = { running: 'running', spawning: 'starting', stopping: 'stopping', stopped: 'stopped' };

export class CourseServers {
  constructor(
    private readonly d: CourseServersDeps,
    private readonly courses: CourseService,
  ) {}

  /** The accepted participants with their course servers (`read:courses` on the course). */
  async list(caller: Caller, slug: string): Promise<ParticipantServer[]> {
    const { course, members } = await this.courses.participants(caller, slug);
    return Promise.all(
      acceptedParticipants(members).map(async (m) => {
        const row = await this.d.servers.get(m.user_id, course.slug);
        const usage = row ? await this.d.lifecycle.usage(row).catch(() => null) : null;
        return {
          user: m.user_name,
          status: m.status,
          server: {
            state: row ? PHASE[row.phase] : 'stopped',
            url: this.d.urls.userServerUrl(m.user_name, course.slug),
            started: row?.phase === 'running' ? row.started : null,
            last_activity: row?.last_activity ?? null,
            failure: row?.phase === 'stopped' ? row.failure : null,
            memory_bytes: usage?.memoryBytes ?? null,
            memory_limit_bytes: usage?.memoryLimitBytes ?? null,
            cpu_seconds: usage?.cpuSeconds ?? null,
          },
        };
      }),
    );
  }

  /**
   * Checks an action on the course servers of the accepted participants (all, or those `users` names;
   * a content push also the teachers') before anything happens: refused as a whole (404, 403, 409,
   * 400) or a plan to `carry out`.
   */
  async plan(caller: Caller, slug: string, action: ServerAction, users: unknown): Promise<ServerPlan> {
    const course = await this.courses.managed(caller, slug);
    if (action === 'start' && !participantsMayStart(course.state as CourseState)) {
      throw new HubError(409, `The course ${course.title} is ${course.state}: participants' servers start only while it is active`);
    }
    if (action === 'content' && !course.content_repo) throw new HubError(409, `The course ${course.title} has no content repository`);
    const { members } = await this.courses.participants(caller, slug);
    return { caller, course, action, participants: selectParticipants(members, users, slug, action === 'content') };
  }

  /** Carries out a plan, calling `onResult` as each participant's server is done; every result, in the participants' order. */
  async carryOut(plan: ServerPlan, onResult?: (r: ServerResult) => void): Promise<ServerResult[]> {
    const ordered = await mapInBatches(plan.participants, AT_ONCE, async (m) => {
      const result = await this.one(plan.caller, plan.action, plan.course.slug, m).catch((err: unknown) => failure(m.user_name, err));
      onResult?.(result);
      return result;
    });
    await this.courses.record(plan.caller, plan.course, HISTORY[plan.action], summary(ordered));
    return ordered;
  }

  private async one(caller: Caller, action: ServerAction, slug: string, member: MemberWithName): Promise<ServerResult> {
    const name = member.user_name;
    const scope = SCOPE[action];
    if (!checkScope(caller.scopes, scope, { user: name, server: `${name}/${slug}`, groups: [courseGroup(slug)] })) {
      return { user: name, result: 'refused', message: `Action is not authorized with current scopes; requires any of [${scope}]` };
    }
    const user = await this.d.users.byId(member.user_id);
    if (!user) return { user: name, result: 'failed', message: 'the user no longer exists' };
    if (action === 'content') return this.pushContent(user, slug);
    return action === 'start' ? this.start(user, slug) : this.stop(user, slug);
  }

  /** Into a running server's copy only: a stopped one gets the update at its next start anyway. */
  private async pushContent(user: UserRow, slug: string): Promise<ServerResult> {
    const row = await this.d.servers.get(user.id, slug);
    if (row?.phase !== 'running') return { user: user.name, result: 'at next start' };
    return { user: user.name, result: await this.courses.pullMemberContent(slug, user) };
  }

  private async start(user: UserRow, slug: string): Promise<ServerResult> {
    const row = await this.d.servers.get(user.id, slug);
    if (row?.phase === 'running') return { user: user.name, result: 'already running' };
    const { status, server } = await startServer(this.d, user, slug, {});
    if (status === 'ready') return { user: user.name, result: 'ready' };
    const now = await this.d.servers.byId(server.id);
    // Within the wait the start may also have failed: the row says why.
    if (now?.phase === 'stopped') return { user: user.name, result: 'failed', message: now.failure ?? 'the server stopped' };
    return { user: user.name, result: 'starting', progress_url: `${this.d.urls.api}users/${escapePathSegment(user.name)}/servers/${escapePathSegment(slug)}/progress` };
  }

  private async stop(user: UserRow, slug: string): Promise<ServerResult> {
    const row = await this.d.servers.get(user.id, slug);
    if (!row || row.phase === 'stopped') return { user: user.name, result: 'not running' };
    // A start under way is cancelled by stop(), as a stop during a spawn from the home page is.
    const outcome = await this.d.lifecycle.stop(user, row);
    return { user: user.name, result: outcome === 'stopped' ? 'stopped' : 'stopping' };
  }
}

function failure(user: string, err: unknown): ServerResult {
  if (err instanceof HubError) return { user, result: err.status === 403 ? 'refused' : 'failed', message: err.message };
  return { user, result: 'failed', message: (err as Error).message };
}

/** "3 ready, 1 failed" for the course's history. */
function summary(results: ServerResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.result, (counts.get(r.result) ?? 0) + 1);
  return results.length === 0 ? 'no participant' : [...counts].map(([result, n]) => `${n} ${result}`).join(', ');
}
