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
  const files = new CourseFiles(p.dataDir);
  const notifier = createNotifier(config.smtp, log.child({ component: 'mail' }));
  const publicHubUrl = new URL('hub/', new URL(p.config.bind_url)).href;

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
      const state = p.authState(user);
      if (state && typeof state.email === 'string' && state.email.includes('@')) return state.email;
      const template = config.smtp?.user_email_template;
      return template ? expandUserTemplate(template, user.name) : null;
    },
    stopCourseServer,
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
