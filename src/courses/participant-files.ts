/**
 * Participants' files for the teachers: everyone's course directory as it is now, in one zip; and
 * hand-in. Each participant hands in by putting files in `hand-in/` of their course directory; a
 * teacher collects an assignment (`week1`), which copies each participant's `hand-in/` as it is at
 * that moment into the hub's own files (src/courses/files.ts), dated: what a participant changes
 * afterwards does not change what was collected, and they can only download their copy, not edit it.
 * Every file is read as its owner's uid; the hub only reads the tars they write.
 */
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { CourseRow } from '../db/schema.js';
import { isoNow } from '../db/time.js';
import { HubError } from '../errors.js';
import type { Caller } from '../hub/access.js';
import { mapInBatches } from '../hub/batches.js';
import { acceptedParticipants } from './selection.js';
import { escapeName } from '../spawners/local-process/names.js';
import { fieldErrors, memberLimits, type CourseService } from './service.js';
import type { CourseState } from './state-machine.js';
import { zipOfTars } from './zip.js';

/** States in which the members' course directories are gone (archived, or never made). */
const NO_FILES: readonly CourseState[] = ['pending', 'changes_requested', 'rejected', 'archived', 'deleted'];
/** Collections read this many participants at once. */
const AT_ONCE = 4;

export interface CollectResult {
  user: string;
  result: 'collected' | 'empty' | 'failed';
  message?: string;
}

export interface Collection {
  assignment: string;
  collected_at: string;
  /** Participants whose hand-in is in it (for a participant: only themselves). */
  users: string[];
}

/** A zip to send: its file name and its bytes as they are made. */
export interface ZipDownload {
  filename: string;
  stream: Readable;
}

export class ParticipantFiles {
  constructor(private readonly courses: CourseService) {}

  /** Every accepted participant's course directory now, in one zip (teachers). */
  async currentFiles(caller: Caller, slug: string): Promise<ZipDownload> {
    const course = await this.courses.managed(caller, slug);
    if (NO_FILES.includes(course.state as CourseState)) throw new HubError(409, `The course ${course.title} is ${course.state}: its participants have no files on the hub`);
    const { members } = await this.courses.participants(caller, slug);
    const tars = await this.courses.files.snapshot(course.slug, acceptedParticipants(members).map((m) => m.user_name));
    return { filename: `${course.slug}-files-${fileStamp(isoNow()).slice(0, 10)}.zip`, stream: withCleanup(zipOfTars(tars.map((t) => ({ prefix: t.user, file: t.file }))), tars) };
  }

  /** Collects `assignment` from every accepted participant (or those named), one result each. */
  async collect(caller: Caller, slug: string, body: unknown): Promise<{ assignment: string; collected_at: string; results: CollectResult[] }> {
    const course = await this.courses.managed(caller, slug);
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const assignment = typeof b.assignment === 'string' ? b.assignment.trim() : '';
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(assignment)) {
      throw fieldErrors({ assignment: 'A name of letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit), e.g. week1.' });
    }
    if (NO_FILES.includes(course.state as CourseState)) throw new HubError(409, `The course ${course.title} is ${course.state}: there is nothing to collect`);
    const { members } = await this.courses.participants(caller, slug);
    const collectedAt = isoNow();
    const stamp = fileStamp(collectedAt);
    const limits = memberLimits(course);
    const ordered = await mapInBatches(acceptedParticipants(members), AT_ONCE, (m) =>
      this.courses.files
        .collect(course.slug, assignment, stamp, { id: m.user_id, name: m.user_name }, limits)
        .then((r): CollectResult => ({ user: m.user_name, result: r }))
        .catch((err: unknown): CollectResult => ({ user: m.user_name, result: 'failed', message: (err as Error).message })),
    );
    const counts = (r: CollectResult['result']) => ordered.filter((x) => x.result === r).length;
    await this.courses.record(caller, course, 'collect', `${assignment}: ${counts('collected')} collected, ${counts('empty')} with nothing handed in, ${counts('failed')} failed`);
    return { assignment, collected_at: collectedAt, results: ordered };
  }

  /** The collections: all of them for teachers, a participant's own for a participant. */
  async collections(caller: Caller, slug: string): Promise<Collection[]> {
    const { course, own } = await this.access(caller, slug);
    const list = await this.courses.files.collections(course.slug);
    return list
      .map((c) => ({ assignment: c.assignment, collected_at: stampTime(c.stamp), users: c.files.map((f) => f.user).filter((u) => own === null || u === own) }))
      .filter((c) => own === null || c.users.length > 0);
  }

  /** One collection (the latest of the assignment, or the one collected at `at`) as a zip: everyone's for teachers, their own for a participant. */
  async collectionZip(caller: Caller, slug: string, assignment: string, at?: string): Promise<ZipDownload> {
    const { course, own } = await this.access(caller, slug);
    const found = (await this.courses.files.collections(course.slug)).filter((c) => c.assignment === assignment && (at === undefined || stampTime(c.stamp) === at));
    const latest = found[0];
    const files = latest?.files.filter((f) => own === null || f.user === own) ?? [];
    if (!latest || files.length === 0) throw new HubError(404, `No collection of ${assignment}${at ? ` at ${at}` : ''} in course ${slug}${own === null ? '' : ' with your files'}`);
    return { filename: `${course.slug}-${assignment}-${latest.stamp}.zip`, stream: zipOfTars(files.map((f) => ({ prefix: f.user, file: f.file }))) };
  }

  /** Teachers see every collection; an accepted participant only their own files (`own`: their file-safe name). */
  private async access(caller: Caller, slug: string): Promise<{ course: CourseRow; own: string | null }> {
    const { course, member } = await this.courses.visible(caller, slug);
    if (this.courses.canManage(caller, course)) return { course, own: null };
    if (member?.role === 'student' && caller.principal.kind === 'user') return { course, own: escapeName(caller.principal.user.name) };
    throw new HubError(403, `Action is not authorized with current scopes; requires any of [courses:manage!group=course-${slug}]`);
  }
}

/** An ISO time as a folder name (no ':'), and back. */
function fileStamp(iso: string): string {
  return iso.replace(/:/g, '-');
}

function stampTime(stamp: string): string {
  return stamp.replace(/^(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2})/, '$1:$2:$3');
}

/** Deletes the temporary tars once the zip made of them is sent or abandoned. */
function withCleanup(stream: Readable, tars: Array<{ file: string }>): Readable {
  let done = false;
  const cleanup = () => {
    if (done) return;
    done = true;
    void Promise.all(tars.map((t) => rm(t.file, { force: true })));
  };
  stream.once('close', cleanup);
  stream.once('end', cleanup);
  stream.once('error', cleanup);
  return stream;
}
