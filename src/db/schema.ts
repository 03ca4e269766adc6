/**
 * The database's tables, as Kysely types. Timestamps are ISO 8601 UTC strings with 'Z'
 * (what the API returns); JSON columns are TEXT holding JSON. Booleans are 0/1 integers
 * so that the same schema runs on SQLite and PostgreSQL.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  name: string;
  admin: number;
  created: string;
  last_activity: string | null;
  /** JupyterHub's per-user cookie id; kept for compatibility (login cookies name a login session now, migration 006). */
  cookie_id: string;
  /** JSON; null when the authenticator keeps none. */
  auth_state: string | null;
}

export type ServerPhase = 'stopped' | 'spawning' | 'running' | 'stopping';

export interface ServersTable {
  id: Generated<number>;
  user_id: number;
  /** '' for the default server. */
  name: string;
  phase: ServerPhase;
  /** Spawner kind that owns spawner_state. */
  spawner: string;
  /** JSON SpawnerState. */
  spawner_state: Generated<string>;
  /** Upstream base, e.g. http://127.0.0.1:53211 (null unless running). */
  target: string | null;
  started: string | null;
  last_activity: string | null;
  /** JSON user options. */
  user_options: Generated<string>;
  /** Why the last spawn failed (shown on the progress stream and in the API). */
  failure: string | null;
  /** The API token the running server holds (revoked when it stops). */
  api_token_id: number | null;
}

export interface GroupsTable {
  id: Generated<number>;
  name: string;
  /** JSON object. */
  properties: string;
}

export interface UserGroupsTable {
  user_id: number;
  group_id: number;
}

export interface RolesTable {
  id: Generated<number>;
  name: string;
  description: string;
  /** JSON string[]. */
  scopes: string;
  /** 'config' for roles from load_roles or defaults (re-applied at start), 'api' otherwise. */
  managed_by: string;
}

export interface UserRolesTable {
  user_id: number;
  role_id: number;
}
export interface GroupRolesTable {
  group_id: number;
  role_id: number;
}
export interface ServiceRolesTable {
  service_id: number;
  role_id: number;
}

export interface ServicesTable {
  id: Generated<number>;
  name: string;
  /** 1 while it is in the current config. */
  from_config: number;
}

export interface ApiTokensTable {
  id: Generated<number>;
  /** SHA-256 hex of the token; the token itself is never stored. */
  hashed: string;
  /** First 4 characters, shown to identify a token. */
  prefix: string;
  user_id: number | null;
  service_id: number | null;
  /** 'api' (created by a person or an API call), 'server' (a server's own token), 'oauth' (issued by the OAuth provider), 'service' (from config). */
  kind: string;
  note: string;
  /** JSON string[] as requested (expanded against the owner's scopes at use). */
  scopes: string;
  /** OAuth client the token was issued to ('jupyterhub' for the hub itself). */
  client_id: string;
  session_id: string | null;
  created: string;
  expires_at: string | null;
  last_activity: string | null;
}

export interface OAuthClientsTable {
  /** The client id, e.g. jupyterhub-user-alice. */
  id: string;
  description: string;
  /** SHA-256 hex of the client secret. */
  secret_hash: string;
  redirect_uri: string;
  /** JSON string[] of scopes the client may be granted. */
  allowed_scopes: string;
}

export interface OAuthCodesTable {
  id: Generated<number>;
  code_hash: string;
  client_id: string;
  user_id: number;
  redirect_uri: string;
  /** JSON string[] */
  scopes: string;
  session_id: string | null;
  expires_at: string;
}

/** A server's access granted by its owner to one user or one group (JupyterHub 5 sharing). */
export interface SharesTable {
  id: Generated<number>;
  created_at: string;
  owner_id: number;
  server_id: number;
  user_id: number | null;
  group_id: number | null;
  /** JSON string[], each filtered to the server (`access:servers!server=owner/name`). */
  scopes: string;
}

/** A code the owner hands out; whoever accepts it while it is valid gets a share. */
export interface ShareCodesTable {
  id: Generated<number>;
  created_at: string;
  owner_id: number;
  server_id: number;
  /** SHA-256 hex of the code; the code itself is shown once, at creation. */
  hashed: string;
  /** JSON string[] as in SharesTable. */
  scopes: string;
  expires_at: string;
  exchange_count: Generated<number>;
  last_exchanged_at: string | null;
}

export type NativeAccountStatus = 'pending' | 'approved' | 'rejected';

/** An account of the `native` authenticator. */
export interface NativeAccountsTable {
  id: Generated<number>;
  /** The user name (normalised), as in users.name once the person has logged in. */
  name: string;
  /** argon2id. */
  password_hash: string;
  status: NativeAccountStatus;
  created: string;
  failed_logins: Generated<number>;
  locked_until: string | null;
  /** TOTP secret, encrypted (gcm1:…); set at enrolment, active once totp_enabled. */
  totp_secret: string | null;
  totp_enabled: Generated<number>;
  /** JSON string[] of SHA-256 hashes of unused recovery codes. */
  recovery_codes: Generated<string>;
}

/** A passkey or security key (WebAuthn credential) of a native account (migration 009). */
export interface NativePasskeysTable {
  id: Generated<number>;
  account_id: number;
  /** The credential's id as the browser gives it (base64url); unique across accounts. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter at its last use (0 for authenticators that keep none). */
  counter: Generated<number>;
  /** JSON string[]: how the browser reaches the authenticator (usb, nfc, ble, internal, hybrid). */
  transports: Generated<string>;
  /** What the person called it. */
  name: string;
  created: string;
  last_used: string | null;
}

/** A course hub (src/courses/): its request, its state in the life cycle (courses/state-machine.ts) and its join settings. */
export interface CoursesTable {
  id: Generated<number>;
  /** DNS-safe, unique; also the name of participants' course servers and of the group course-<slug>. */
  slug: string;
  title: string;
  description: string;
  /** A CourseState. */
  state: string;
  starts_at: string;
  ends_at: string;
  expected_participants: number;
  environment: string;
  custom_image: string | null;
  /** JSON {cpu, memory_gb, storage_gb, gpu} per participant. */
  resources: string;
  /** JSON {url, branch} or null. */
  content_repo: string | null;
  /** Null once that user was deleted. */
  requested_by: number | null;
  contact_email: string | null;
  accepted_terms_version: string;
  created: string;
  updated: string;
  /** Governance's last reason (reject) or comment (changes requested). */
  review_comment: string | null;
  /** Why the course failed (state failed). */
  failure: string | null;
  /** The join code is derived from this and the hub's secret; a new nonce rotates the code. */
  join_nonce: string;
  join_expires_at: string | null;
  auto_accept: Generated<number>;
  /** 1 once teachers were reminded that the course ends soon. */
  ending_notified: Generated<number>;
}

export type CourseMemberRole = 'teacher' | 'student';
export type CourseMemberStatus = 'applied' | 'accepted' | 'rejected';

export interface CourseMembersTable {
  course_id: number;
  user_id: number;
  role: CourseMemberRole;
  status: CourseMemberStatus;
  email: string | null;
  applied_at: string;
  decided_at: string | null;
  /** When the member's course server first and last started. */
  first_started: string | null;
  last_started: string | null;
  /** The version of the terms of use the participant accepted last, and when (null: never, e.g. before terms were recorded). */
  terms_version: string | null;
  terms_accepted_at: string | null;
}

/** The audit log: every action and timed step, with its time and who did it ('scheduler' for timed steps). */
export interface CourseEventsTable {
  id: Generated<number>;
  course_id: number;
  at: string;
  actor: string;
  action: string;
  from_state: string | null;
  to_state: string | null;
  detail: string;
}

/** A change to an approved course, proposed by a teacher: pending, then approved (and applied) or rejected. */
export type CourseChangeState = 'pending' | 'approved' | 'rejected';

export interface CourseChangesTable {
  id: Generated<number>;
  course_id: number;
  state: CourseChangeState;
  /** JSON: the fields that change, with their new values (request field names). */
  changes: string;
  /** JSON: the same fields' values when the change was proposed. */
  previous: string;
  requested_by: string;
  created: string;
  decided_by: string | null;
  decided_at: string | null;
  comment: string | null;
}

/** The uid of a user's servers under spawner.run_as: dynamic; user_id null once the user is gone but its files may remain. */
export interface UnixIdsTable {
  uid: number;
  user_id: number | null;
  user_name: string;
  created: string;
  /** When the user was deleted; the uid stays taken until its files are removed and the row deleted. */
  released: string | null;
}

/** A login of one browser (migration 006); `id` is the SHA-256 of the secret in the login cookie. */
export interface LoginSessionsTable {
  id: string;
  user_id: number;
  created: string;
  expires: string;
}

export interface KvTable {
  key: string;
  value: string;
}

export interface Database {
  users: UsersTable;
  servers: ServersTable;
  groups: GroupsTable;
  user_groups: UserGroupsTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  group_roles: GroupRolesTable;
  service_roles: ServiceRolesTable;
  services: ServicesTable;
  api_tokens: ApiTokensTable;
  oauth_clients: OAuthClientsTable;
  oauth_codes: OAuthCodesTable;
  shares: SharesTable;
  share_codes: ShareCodesTable;
  native_accounts: NativeAccountsTable;
  native_passkeys: NativePasskeysTable;
  courses: CoursesTable;
  course_members: CourseMembersTable;
  course_events: CourseEventsTable;
  course_changes: CourseChangesTable;
  unix_ids: UnixIdsTable;
  login_sessions: LoginSessionsTable;
  kv: KvTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type ServerRow = Selectable<ServersTable>;
export type ServerUpdate = Updateable<ServersTable>;
export type TokenRow = Selectable<ApiTokensTable>;
export type GroupRow = Selectable<GroupsTable>;
export type RoleRow = Selectable<RolesTable>;
export type ShareRow = Selectable<SharesTable>;
export type ShareCodeRow = Selectable<ShareCodesTable>;
export type NativeAccountRow = Selectable<NativeAccountsTable>;
export type NativePasskeyRow = Selectable<NativePasskeysTable>;
export type OAuthClientRow = Selectable<OAuthClientsTable>;
export type CourseRow = Selectable<CoursesTable>;
export type CourseMemberRow = Selectable<CourseMembersTable>;
export type CourseEventRow = Selectable<CourseEventsTable>;
export type CourseChangeRow = Selectable<CourseChangesTable>;
