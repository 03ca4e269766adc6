/**
 * A course member's server `<slug>`: who may start it when, and how it runs (the course's
 * environment and resources, in the course's directory, with the content brought up to date at each start).
 */
import type { CoursesConfig } from '../config/schema.js';
import type { CourseRepo } from '../db/repos/courses.js';
import type { UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { ServerProfile, ServerProfileSource } from '../hub/server-profiles.js';
import { expandUserTemplate } from '../spawners/env.js';
import { pullContent, type ContentRepo } from './content.js';
import { courseUnixGroups, type CourseFiles } from './files.js';
import path from 'node:path';
import { memberLimits, mustAcceptTerms, type CourseResources } from './service.js';
import { participantsMayStart, teachersMayEnter, type CourseState } from './state-machine.js';

/** Courses whose slug no longer names a server. */
const GONE: readonly string[] = ['rejected', 'deleted'];

export class CourseServerProfiles implements ServerProfileSource {
  constructor(
    private readonly config: CoursesConfig,
    private readonly courses: CourseRepo,
    private readonly files: CourseFiles,
  ) {}

  async owns(serverName: string): Promise<boolean> {
    const course = await this.courses.bySlug(serverName);
    return course !== undefined && !GONE.includes(course.state);
  }

  async profileFor(user: UserRow, serverName: string): Promise<ServerProfile | null> {
    const course = await this.courses.bySlug(serverName);
    if (!course || GONE.includes(course.state)) return null;
    const member = await this.courses.member(course.id, user.id);
    const state = course.state as CourseState;
    if (!member) throw new HubError(403, `${user.name} is not a participant of the course ${course.title}`);
    if (member.role === 'student' && member.status !== 'accepted') {
      throw new HubError(403, member.status === 'rejected' ? `${user.name}'s application to ${course.title} was not accepted` : `${user.name}'s application to ${course.title} is waiting for the teacher`);
    }
    const open = member.role === 'teacher' ? teachersMayEnter(state) : participantsMayStart(state);
    if (!open) throw new HubError(403, closedMessage(course.title, state, course.starts_at));
    const terms = this.config.terms_of_use.version;
    if (mustAcceptTerms(member, terms)) {
      throw new HubError(403, `The terms of use of ${course.title} are new (version ${terms}): ${user.name} accepts them on the course page before starting`);
    }
    const env = this.config.environments[course.environment];
    const resources = JSON.parse(course.resources) as CourseResources;
    const workDir = this.files.homeDir(course.slug, user.name);
    const repo = course.content_repo ? (JSON.parse(course.content_repo) as ContentRepo) : null;
    const limits = memberLimits(course);
    const unixGroups = courseUnixGroups(course.slug);
    return {
      source: `course ${course.slug}`,
      cmd: env?.cmd,
      defaultUrl: env?.default_url,
      env: {
        ...Object.fromEntries(Object.entries(env?.environment ?? {}).map(([k, v]) => [k, expandUserTemplate(v, user.name, serverName)])),
        GANYMEDE_COURSE: course.slug,
        ...(course.custom_image ? { GANYMEDE_COURSE_IMAGE: course.custom_image } : env?.image ? { GANYMEDE_COURSE_IMAGE: env.image } : {}),
      },
      workDir,
      resources: { ...limits, gpu: resources.gpu, storageGb: resources.storage_gb },
      // The shared folder: teachers write it (their files group-writable, for the other teachers), members read it.
      groups: member.role === 'teacher' ? [unixGroups.teachers, unixGroups.members] : [unixGroups.members],
      ...(member.role === 'teacher' ? { umask: 0o002 } : {}),
      prepare: async (progress, signal) => {
        // As the member, with the course's limits: everything made here is in their directory, theirs.
        const files = await this.files.memberFiles(course.slug, user, limits);
        if (repo) {
          progress(`Bringing the course content from ${repo.url}…`);
          const done = await pullContent(files, repo, workDir, signal);
          progress(done === 'cloned' ? 'Course content copied' : 'Course content up to date');
        }
        // The course's shared folder, reached through `shared` in the member's directory (unless they made their own).
        const shared = await this.files.prepareShared(course.slug);
        const linked = await files.run(['ln', '-sT', '--', shared, path.join(workDir, 'shared')], { signal });
        if (linked.code !== 0 && (await files.lstat(path.join(workDir, 'shared')))?.kind !== 'symlink') {
          progress(`Your course folder has a "shared" of your own: the course's shared folder is ${shared}`);
        }
        // Where participants put what teachers collect (src/courses/participant-files.ts).
        if (member.role === 'student') {
          const made = await files.run(['mkdir', '-p', '--', this.files.handInDir(course.slug, user.name)], { signal });
          if (made.code !== 0) progress(`Could not make the hand-in folder: ${made.stderr.trim() || `mkdir exited with ${made.code}`}`);
        }
      },
      onStarted: () => this.courses.markStarted(course.id, user.id),
    };
  }
}

function closedMessage(title: string, state: CourseState, startsAt: string): string {
  switch (state) {
    case 'pending':
    case 'changes_requested':
      return `The course ${title} has not been approved yet`;
    case 'scheduled':
    case 'ready':
      return `The course ${title} opens at ${startsAt}`;
    case 'ended':
    case 'archived':
      return `The course ${title} has ended`;
    case 'cancelled':
      return `The course ${title} was cancelled`;
    default:
      return `The course ${title} is ${state}`;
  }
}
