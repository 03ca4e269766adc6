/**
 * Builds the course feature from the hub's parts (composition for courses; app.ts calls it when
 * `courses.enabled`): files, notices, the service, the scheduler and the course-server profiles.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/schema.js';
import { CourseRepo } from '../db/repos/courses.js';
import type { GroupRepo } from '../db/repos/groups.js';
import type { RoleRepo } from '../db/repos/roles.js';
import type { ServerRepo } from '../db/repos/servers.js';
import type { UserRepo } from '../db/repos/users.js';
import type { CourseRow, Database, UserRow } from '../db/schema.js';
import type { ServerLifecycle } from '../hub/server-lifecycle.js';
import type { JsonObject } from '../spawners/spawner.js';
import { expandUserTemplate } from '../spawners/env.js';
import type { UserFiles } from '../spawners/user-files.js';
import { CourseFiles } from './files.js';
import { createNotifier } from './mailer.js';
import type { Notifier } from './notices.js';
import { CourseScheduler } from './scheduler.js';
import { CourseServerProfiles } from './server-profiles.js';
import { CourseService } from './service.js';

export interface Courses {
  service: CourseService;
  scheduler: CourseScheduler;
  profiles: CourseServerProfiles;
  notifier: Notifier;
  close(): Promise<void>;
}

export interface CourseParts {
  config: HubConfig;
  db: Kysely<Database>;
  dataDir: string;
  secret: Buffer;
  users: UserRepo;
  groups: GroupRepo;
  roles: RoleRepo;
  servers: ServerRepo;
  lifecycle: ServerLifecycle;
  /** The members' course directories are worked on as their own uids (the spawner's, or the hub's account). */
  userFiles: UserFiles;
  log: Logger;
  /** The user's decrypted auth_state, for an `email` the authenticator found. */
  authState(user: UserRow): JsonObject | null;
}

/** Roles that exist when courses are enabled; load_roles gives them members (e.g. a group synced from the IdP). */
export const COURSE_ROLES = [
  { name: 'course-requester', description: 'May request courses', scopes: ['courses:request'] },
  { name: 'course-governance', description: 'Reviews course requests', scopes: ['courses:review', 'read:users:name'] },
] as const;

export function createCourses(p: CourseParts): Courses {
  const config = p.config.courses;
  const log = p.log;
  const repo = new CourseRepo(p.db);
  const files = new CourseFiles(p.dataDir, p.userFiles);
  const notifier = createNotifier(config.smtp, log.child({ component: 'mail' }));
  // Links in e-mails and join links: the address people use, not the one the hub binds to.
  const base = new URL(p.config.public_url ?? p.config.bind_url);
  base.pathname = new URL(p.config.bind_url).pathname.replace(/\/?$/, '/');
  const publicHubUrl = new URL('hub/', base).href;

  const stopCourseServer = async (user: UserRow, slug: string) => {
    const server = await p.servers.get(user.id, slug);
    if (server && (server.phase === 'running' || server.phase === 'spawning' || server.phase === 'stopping')) {
      await p.lifecycle.stop(user, server, 'done');
      // A spawn under way is cancelled by stop(); wait until it has ended.
      await p.lifecycle.settled(server.id);
    }
  };

  let scheduler: CourseScheduler | null = null;
  const service = new CourseService({
    config,
    courses: repo,
    users: p.users,
    groups: p.groups,
    roles: p.roles,
    files,
    notifier,
    log,
    secret: p.secret,
    publicHubUrl,
    emailOf(user) {
      const found = emailInAuthState(p.authState(user));
      if (found) return found;
      const template = config.smtp?.user_email_template;
      return template ? expandUserTemplate(template, user.name) : null;
    },
    stopCourseServer,
    serverNameInUse: (name) => p.servers.nameInUse(name),
    wake: () => scheduler?.wake(),
  });
  scheduler = new CourseScheduler({
    config,
    courses: repo,
    service,
    files,
    log,
    async forgetCourseServers(course: CourseRow) {
      for (const m of await repo.members(course.id)) {
        const server = await p.servers.get(m.user_id, course.slug);
        if (!server) continue;
        const user = await p.users.byId(m.user_id);
        if (user) await stopCourseServer(user, course.slug);
        await p.servers.delete(server.id);
      }
    },
  });
  const profiles = new CourseServerProfiles(config, repo, files);
  return {
    service,
    scheduler,
    profiles,
    notifier,
    async close() {
      await scheduler!.stop();
      await notifier.idle();
      await notifier.close();
    },
  };
}

/**
 * An e-mail address the authenticator learned at login: `email` (any), `claims.email` (OpenID
 * Connect), `github_user.email` (GitHub), `mail` (LDAP with auth_state_attributes: [mail]).
 */
export function emailInAuthState(state: JsonObject | null): string | null {
  if (!state) return null;
  const nested = (key: string) => {
    const v = state[key];
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject).email : undefined;
  };
  for (const candidate of [state.email, nested('claims'), nested('github_user'), state.mail]) {
    const value = Array.isArray(candidate) ? candidate[0] : candidate;
    if (typeof value === 'string' && /^[^\s@]+@[^\s@]+$/.test(value)) return value;
  }
  return null;
}
