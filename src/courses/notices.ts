/**
 * What the course service tells people, and to whom. The service decides when and who; a
 * Notifier (mailer.ts for e-mail) decides how. Sending never blocks or fails a workflow.
 */

export type CourseNotice =
  /** to governance */
  | 'request_received'
  | 'request_changed'
  | 'change_requested'
  | 'change_applied'
  /** to the course's teachers */
  | 'approved'
  | 'rejected'
  | 'changes_requested'
  | 'ready'
  | 'failed'
  | 'ending_soon'
  | 'archived'
  | 'cancelled'
  | 'change_approved'
  | 'change_rejected'
  /** to a participant */
  | 'participant_accepted'
  | 'participant_rejected'
  /** a teacher's own message */
  | 'participant_message';

export interface NoticeData {
  course: {
    slug: string;
    title: string;
    starts_at: string;
    ends_at: string;
    state: string;
    /** The course page, e.g. https://hub.example.org/hub/courses/stats1 */
    url: string;
  };
  /** Governance's reason or comment, the failure's reason; for a change, what changes from what to what. */
  comment?: string | null;
  /** Who did it (teacher for a request, governance for a decision). */
  actor?: string;
  /** The participant concerned. */
  participant?: string;
  /** A teacher's message to participants: its subject and text, and where replies go. */
  message?: { subject: string; text: string; reply_to: string | null };
}

export interface Notifier {
  /** Queues the notice for every address in `to` (none: nothing happens); returns at once. */
  notify(notice: CourseNotice, to: string[], data: NoticeData): void;
  /** Resolves when every queued notice was sent or given up (shutdown, tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Used when `courses.smtp` is not configured: no e-mail at all. */
export const NO_NOTIFIER: Notifier = {
  notify: () => undefined,
  idle: async () => undefined,
  close: async () => undefined,
};
