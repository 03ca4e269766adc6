/**
 * Every configuration key, its type, its default and a one-line description, in one place.
 * `ganymede generate-config` and docs/configuration.md are generated from this file, so a key
 * documented here is a key that exists, and the other way round.
 * Names follow JupyterHub's where a JupyterHub admin would look for them.
 */
import { z } from 'zod';
import { SINGLE_USER_SERVER_DEFAULTS_DOC, singleUserServerDefaults } from './single-user-server.js';

const seconds = (def: number, doc: string) => z.number().nonnegative().default(def).describe(doc);
const stringList = (doc: string) => z.array(z.string()).default([]).describe(doc);

const scopeList = z.array(z.string());

export const roleSchema = z
  .object({
    name: z.string().min(1).describe('role name'),
    description: z.string().default('').describe('what the role is for'),
    scopes: scopeList.default([]).describe('scopes the role grants, e.g. admin:servers!group=physics'),
    users: stringList('user names that get the role'),
    groups: stringList('group names whose members get the role'),
    services: stringList('service names that get the role'),
  })
  .strict();

export const serviceSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').describe('service name; its proxy route is /services/{name}/'),
    api_token: z.string().min(8).optional().describe('token the service uses for the API (generated for managed services when absent)'),
    url: z.string().url().optional().describe('where the service listens; the hub proxies /services/{name}/ there'),
    command: z.array(z.string()).optional().describe('command the hub runs and keeps running (a managed service)'),
    environment: z.record(z.string(), z.string()).default({}).describe('extra environment for a managed service'),
    cwd: z.string().optional().describe('working directory of a managed service'),
    oauth_client_id: z.string().optional().describe('OAuth client id (default service-{name})'),
    oauth_redirect_uri: z.string().optional().describe('OAuth redirect URI (default {url path}/oauth_callback)'),
    oauth_no_confirm: z.boolean().default(false).describe('skip the OAuth confirmation page for this service (as JupyterHub, asked by default)'),
    display: z.boolean().default(true).describe('show the service on the home page'),
    info: z.record(z.string(), z.string()).default({}).describe('extra information shown in the service model'),
  })
  .strict();

export const oidcSchema = z
  .object({
    issuer: z.string().url().describe('the OpenID provider; its /.well-known/openid-configuration is read at start (Keycloak: https://HOST/realms/REALM)'),
    client_id: z.string().min(1).describe('the client id registered at the provider'),
    client_secret: z.string().min(1).describe('the client secret (use ${ENV} rather than writing it here)'),
    callback_url: z.string().url().optional().describe("redirect URI registered at the provider (default: the hub's public URL + hub/oauth_callback)"),
    scopes: z.array(z.string()).default(['openid', 'profile', 'email']).describe('scopes asked for; add the one that releases groups if the provider needs it'),
    username_claim: z.string().default('preferred_username').describe('ID token or userinfo claim that becomes the user name'),
    groups_claim: z.string().default('groups').describe('claim holding the list of groups (dots reach into objects, e.g. realm_access.roles)'),
    allowed_groups: z.array(z.string()).default([]).describe('if not empty, only members of one of these groups may log in (besides allowed_users and admins)'),
    admin_groups: z.array(z.string()).default([]).describe('members of these groups are admins'),
    manage_groups: z.boolean().default(false).describe("make the user's hub groups those of the groups claim at every login"),
    require_mfa: z.boolean().default(false).describe('accept a login only when the ID token proves a second factor (amr or acr below)'),
    mfa_amr_values: z
      .array(z.string())
      .default(['mfa', 'otp', 'hwk', 'swk', 'sms', 'fido', 'face', 'fpt'])
      .describe('amr values (RFC 8176) any of which proves a second factor'),
    mfa_acr_values: z.array(z.string()).default([]).describe('acr values that prove a second factor (e.g. Keycloak LoA levels); also requested at login when set'),
    login_service: z.string().default('OpenID Connect').describe('shown on the login button: "Sign in with …"'),
    auto_login: z.boolean().default(false).describe('go to the provider at once instead of showing the login page'),
    logout_redirect: z.boolean().default(false).describe("also end the session at the provider when logging out (its end_session_endpoint)"),
    refresh_before_spawn: seconds(300, 'refresh the access token before a server starts when it expires within this many seconds'),
    allow_http: z.boolean().default(false).describe('allow an http:// issuer (only for a provider on this machine, e.g. tests)'),
  })
  .strict();

export const ldapSchema = z
  .object({
    server_url: z
      .string()
      .regex(/^ldaps?:\/\/[^/]+\/?$/, 'ldap://host[:port] or ldaps://host[:port]')
      .describe('the directory server, ldap://host:389 or ldaps://host:636'),
    start_tls: z.boolean().default(false).describe('upgrade an ldap:// connection with StartTLS before binding'),
    tls_verify: z.boolean().default(true).describe("check the server's certificate (ldaps:// and StartTLS)"),
    tls_ca_file: z.string().optional().describe('PEM file of the CA that signed the server certificate (default: the system CAs)'),
    bind_dn_template: z
      .array(z.string().includes('{username}', { message: 'must contain {username}' }))
      .default([])
      .describe('DNs to bind as, tried in order, e.g. uid={username},ou=people,dc=example,dc=org'),
    lookup_dn: z.boolean().default(false).describe("find the user's DN by searching user_search_base instead of bind_dn_template"),
    user_search_base: z.string().optional().describe('lookup_dn: where users are searched, e.g. ou=people,dc=example,dc=org'),
    user_attribute: z.string().default('uid').describe('lookup_dn: the attribute that holds the login name (uid, sAMAccountName)'),
    lookup_dn_search_user: z.string().optional().describe('lookup_dn: DN of the account that searches (default: anonymous)'),
    lookup_dn_search_password: z.string().optional().describe('lookup_dn: its password (use ${ENV})'),
    allowed_groups: z.array(z.string()).default([]).describe('if not empty, only members of one of these group DNs may log in (member, uniqueMember or memberUid)'),
    valid_username_regex: z.string().default('^[a-z][.a-z0-9_-]*$').describe('login names must match this (after lower-casing); others are refused before any LDAP request'),
    auth_state_attributes: z.array(z.string()).default([]).describe("the user's attributes kept in auth_state (e.g. mail, uidNumber)"),
    timeout: seconds(10, 'seconds to wait for the directory server'),
  })
  .strict();

export const githubSchema = z
  .object({
    client_id: z.string().min(1).describe('the OAuth app client id'),
    client_secret: z.string().min(1).describe('the OAuth app client secret (use ${ENV})'),
    callback_url: z.string().url().optional().describe("the app's callback URL (default: the hub's public URL + hub/oauth_callback)"),
    allowed_organizations: z
      .array(z.string().regex(/^[A-Za-z0-9-]+(:[A-Za-z0-9_.-]+)?$/, 'org or org:team-slug'))
      .default([])
      .describe('if not empty, only members of one of these organizations (org) or teams (org:team-slug) may log in'),
    scopes: z.array(z.string()).default(['read:user']).describe('scopes asked for (read:org is added when allowed_organizations is set)'),
    authorize_url: z.string().url().default('https://github.com/login/oauth/authorize').describe('GitHub Enterprise: https://HOST/login/oauth/authorize'),
    token_url: z.string().url().default('https://github.com/login/oauth/access_token').describe('GitHub Enterprise: https://HOST/login/oauth/access_token'),
    api_url: z.string().url().default('https://api.github.com').describe('GitHub Enterprise: https://HOST/api/v3'),
    login_service: z.string().default('GitHub').describe('shown on the login button: "Sign in with …"'),
    auto_login: z.boolean().default(false).describe('go to GitHub at once instead of showing the login page'),
    allow_http: z.boolean().default(false).describe('allow http:// endpoints (only for a stand-in on this machine, e.g. tests)'),
  })
  .strict();

export const samlSchema = z
  .object({
    entity_id: z.string().min(1).describe("this hub's SAML entity id (the SP), e.g. https://hub.example.org/hub/saml/metadata"),
    acs_url: z.string().url().describe('where the IdP posts its answers: https://HOST/hub/saml/acs (register it at the IdP)'),
    idp_metadata_file: z.string().optional().describe("the IdP's metadata XML file (SSO URL and signing certificate)"),
    idp_metadata_url: z.string().url().optional().describe("or the URL of the IdP's metadata, read at the first login"),
    entry_point: z.string().url().optional().describe("or the IdP's SSO URL (HTTP-Redirect binding), with idp_cert"),
    idp_cert: z.string().optional().describe("the IdP's signing certificate (PEM or base64), with entry_point"),
    username_attribute: z.string().optional().describe('attribute that becomes the user name (default: the NameID)'),
    groups_attribute: z.string().optional().describe('attribute listing the groups, e.g. memberOf or http://schemas.xmlsoap.org/claims/Group'),
    allowed_groups: z.array(z.string()).default([]).describe('if not empty, only members of one of these groups may log in'),
    admin_groups: z.array(z.string()).default([]).describe('members of these groups are admins'),
    manage_groups: z.boolean().default(false).describe("make the user's hub groups those of the groups attribute at every login"),
    login_service: z.string().default('SAML').describe('shown on the login button: "Sign in with …"'),
    auto_login: z.boolean().default(false).describe('go to the IdP at once instead of showing the login page'),
  })
  .strict();

export const nativeSchema = z
  .object({
    signup: z.boolean().default(true).describe('let people create accounts at /hub/signup'),
    require_approval: z.boolean().default(true).describe('new accounts wait until an admin approves them at /hub/authorize (admin_users need not)'),
    password_min_length: z.number().int().min(8).default(10).describe('shortest password accepted'),
    lockout_attempts: z.number().int().positive().default(5).describe('failed logins in a row that lock an account'),
    lockout_minutes: z.number().positive().default(10).describe('how long a locked account stays locked'),
    require_mfa: z.boolean().default(false).describe('every user must set up a second factor (an authenticator app or a passkey) before using the hub'),
    totp_issuer: z.string().default('Ganymede').describe('the name authenticator apps and passkey dialogs show for this hub'),
  })
  .strict();

export const pamSchema = z
  .object({
    service: z.string().default('login').describe('the PAM service (a file in /etc/pam.d)'),
    allowed_groups: z.array(z.string()).default([]).describe('if not empty, only members of one of these Unix groups may log in'),
    admin_groups: z.array(z.string()).default([]).describe('members of these Unix groups are admins'),
    check_account: z.boolean().default(true).describe('also ask PAM whether the account is valid (expired, locked)'),
    python: z.string().default('/usr/bin/python3').describe('the Python that runs the PAM check (needs python3-pamela, which the jupyterhub package brings)'),
  })
  .strict();

export const authenticatorSchema = z
  .object({
    class: z
      .enum(['dummy', 'null', 'oidc', 'ldap', 'pam', 'github', 'native', 'shared-password', 'saml', 'tmp'])
      .default('dummy')
      .describe(
        "dummy: any name logs in (optionally with one shared password); null: no login form, API tokens only; oidc: OpenID Connect; ldap: an LDAP directory; pam: this machine's Unix accounts; github: GitHub OAuth; native: accounts kept by the hub, with TOTP; shared-password: any name with the site password; saml: a SAML 2.0 identity provider; tmp: no login, every visitor a new temporary user (workshops)",
      ),
    password: z.string().optional().describe('dummy: the shared password every user must type (none: any password)'),
    shared_password: z
      .string()
      .min(8)
      .optional()
      .describe('one site-wide password (workshops): alone with class shared-password, or an extra login field in front of dummy, ldap, pam or native'),
    admin_users: stringList('users who are admins'),
    allowed_users: stringList('if not empty, only these users (and admins) may log in'),
    blocked_users: stringList('users who may never log in'),
    allow_all: z
      .boolean()
      .optional()
      .describe('let everyone who can log in use the hub (default: true for dummy and shared-password without allowed_users, false otherwise, as JupyterHub 5)'),
    allow_existing_users: z
      .boolean()
      .optional()
      .describe('users already in the database may log in (default: true when allowed_users is set, as JupyterHub 5)'),
    force_new_server: z.boolean().default(false).describe('tmp: every visit to the hub root gives a new temporary user and server (the old one is stopped and deleted)'),
    warm_pool: z.number().int().nonnegative().default(0).describe('tmp: temporary users whose servers are kept started and ready, handed to visitors at once (0: none)'),
    warm_pool_max_age: seconds(3600, 'tmp: seconds after which a pooled server nobody took is replaced by a fresh one'),
    oidc: oidcSchema.optional().describe('settings of class oidc'),
    ldap: ldapSchema.optional().describe('settings of class ldap'),
    pam: pamSchema.default(pamSchema.parse({})).describe('settings of class pam'),
    github: githubSchema.optional().describe('settings of class github'),
    native: nativeSchema.default(nativeSchema.parse({})).describe('settings of class native'),
    saml: samlSchema.optional().describe('settings of class saml'),
    enable_auth_state: z
      .boolean()
      .default(false)
      .describe('keep what the authenticator learned at login (tokens, groups) as auth_state, encrypted with GANYMEDE_CRYPT_KEY'),
    auth_state_env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string().min(1))
      .default({})
      .describe('environment variables for user servers from auth_state, e.g. {OIDC_ACCESS_TOKEN: access_token}'),
  })
  .strict();

const bound = (min: number, max: number, def: number, unit: string) =>
  z
    .object({
      min: z.number().int().nonnegative().default(min).describe(`fewest ${unit} a user may ask`),
      max: z.number().int().nonnegative().default(max).describe(`most ${unit} a user may ask`),
      default: z.number().int().nonnegative().default(def).describe(`${unit} when the user asks nothing`),
    })
    .strict()
    .refine((b) => b.min <= b.default && b.default <= b.max, { message: 'needs min <= default <= max' })
    .default({ min, max, default: def })
    .describe(`${unit}: the bounds and the default`);

/** Slurm names (partitions, accounts, QOS, GPU types): what sbatch accepts and a script can hold unquoted. */
const slurmName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'letters, digits, "_", ".", ":" and "-" (at most 64)');

export const slurmPartitionSchema = z
  .object({
    description: z.string().default('').describe('what users read in the form, e.g. "GPU nodes (A100)"'),
    cpus: bound(1, 4, 1, 'CPUs'),
    memory_gb: bound(1, 16, 2, 'GB of memory'),
    time_minutes: bound(10, 480, 60, 'minutes of walltime'),
    gpus: bound(0, 0, 0, 'GPUs'),
    gpu_types: z.array(slurmName).default([]).describe('GPU types users may choose (--gres=gpu:TYPE:N); empty: any GPU (--gres=gpu:N)'),
    accounts: z.array(slurmName).default([]).describe('accounts users may charge (--account); empty: the field is not shown'),
    qos: z.array(slurmName).default([]).describe('QOS users may choose (--qos); empty: the field is not shown'),
  })
  .strict();

export const slurmSshSchema = z
  .object({
    host: z.string().min(1).describe('the login node sbatch, squeue and scancel run on'),
    port: z.number().int().positive().max(65535).default(22).describe('its SSH port'),
    username: z.string().default('{username}').describe('the account to log in as, {username} expanded'),
    private_key_file: z.string().min(1).describe('private key of that account, {username} expanded (e.g. /etc/ganymede/ssh/{username})'),
    host_key_fingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'SHA256:… as `ssh-keygen -lf` prints it')
      .describe("the login node's host key (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`); connections to any other key are refused"),
    poll_username: z.string().min(1).describe('the account that runs the one squeue for all jobs (orphans are cancelled as their owners)'),
    poll_private_key_file: z.string().min(1).describe("that account's private key"),
    timeout: seconds(20, 'seconds to connect and run one command'),
  })
  .strict();

export const slurmSchema = z
  .object({
    partitions: z
      .record(slurmName, slurmPartitionSchema)
      .refine((p) => Object.keys(p).length > 0, { message: 'needs at least one partition' })
      .default({ debug: slurmPartitionSchema.parse({}) })
      .describe('the partitions users choose from, each with its bounds; the first is the default'),
    images: z
      .record(
        slurmName,
        z
          .object({
            image: z.string().regex(/^[^\s'"`$;|&<>\\]+$/, 'a path or URI without spaces, quotes or shell characters').describe('what container.command runs, e.g. /cvmfs/images/python-3.11.sif'),
            description: z.string().default('').describe('what users read in the form'),
          })
          .strict(),
      )
      .default({})
      .describe('container images users choose from (the first is the default); empty: no container, the field is not shown'),
    container: z
      .object({
        command: z.string().min(1).describe('the wrapper in front of the server command, {image} expanded, e.g. "apptainer exec --nv {image}"'),
      })
      .strict()
      .optional()
      .describe('run the server inside a container (required when images are listed)'),
    extra_options: z
      .array(z.string().regex(/^[a-z][a-z-]*$/, 'an sbatch long option name without the dashes, e.g. constraint'))
      .default([])
      .describe('sbatch options users may add in a free "extra" field (e.g. [constraint, reservation]); empty: no extra field'),
    batch_script: z.string().optional().describe('file with the batch script template (default: the one shipped, docs/slurm.md shows it)'),
    work_dir: z.string().default('/home/{username}').describe("the job's working directory (--chdir), where its log file goes, {username} expanded"),
    job_name: slurmName.default('ganymede').describe('the job name of every server job; the hub counts every job of that name as its own, so give each hub on a cluster its own'),
    submit: z
      .object({
        mode: z.enum(['local', 'ssh']).default('local').describe('local: this host is a Slurm client; ssh: commands run on a login node over SSH'),
        exec_prefix: z
          .string()
          .default('sudo -E -u {username} --')
          .describe("local mode: the command prefix that runs sbatch and scancel as the user ({username} expanded; no shell is involved); squeue runs as the hub's own account"),
      })
      .strict()
      .default({ mode: 'local', exec_prefix: 'sudo -E -u {username} --' })
      .describe('how Slurm commands run as the user'),
    ssh: slurmSshSchema.optional().describe('settings of submit mode ssh'),
    commands: z
      .object({
        sbatch: z.string().default('sbatch').describe('the sbatch command'),
        squeue: z.string().default('squeue').describe('the squeue command'),
        scancel: z.string().default('scancel').describe('the scancel command'),
      })
      .strict()
      .default({ sbatch: 'sbatch', squeue: 'squeue', scancel: 'scancel' })
      .describe('paths of the Slurm commands'),
    queue_poll_interval: z.number().positive().default(5).describe('seconds between queue checks while jobs are starting (one squeue for all jobs)'),
    node_host: z.string().default('{node}').describe('how the hub reaches a compute node, {node} expanded (e.g. {node}.ib.cluster)'),
    server_ip: z.string().default('0.0.0.0').describe('the address the server listens on inside the job'),
    python: z.string().default('python3').describe('the Python on compute nodes (inside the container) that runs the small start-up wrapper'),
    command_timeout: seconds(30, 'seconds a Slurm command may take'),
  })
  .strict();

export const spawnerSchema = z
  .object({
    class: z.enum(['local-process', 'slurm']).default('local-process').describe('where servers run: local-process (processes of the hub host) or slurm (batch jobs on a cluster, docs/slurm.md)'),
    // Resolved when the config is parsed (JupyterLab when `make` installed it): src/config/single-user-server.ts.
    cmd: z
      .array(z.string())
      .min(1)
      .default(() => singleUserServerDefaults().cmd)
      .meta({ description: 'the single-user server command', resolvedDefault: SINGLE_USER_SERVER_DEFAULTS_DOC.cmd }),
    args: stringList('extra arguments to cmd'),
    environment: z.record(z.string(), z.string()).default({}).describe('extra environment for every server ({username} is expanded)'),
    env_keep: z
      .array(z.string())
      .default(['PATH', 'PYTHONPATH', 'CONDA_ROOT', 'CONDA_DEFAULT_ENV', 'VIRTUAL_ENV', 'LANG', 'LC_ALL', 'JUPYTERHUB_SINGLEUSER_APP'])
      .describe("the hub's own environment variables passed through to servers"),
    cwd: z.string().optional().describe('per-user working directory, {username} expanded (default <data_dir>/users/{username})'),
    notebook_dir: z.string().optional().describe('root directory of the file browser (JUPYTERHUB_ROOT_DIR); default the working directory'),
    default_url: z
      .string()
      .default(() => singleUserServerDefaults().default_url)
      .meta({ description: 'where the server sends people first, e.g. /lab or /tree', resolvedDefault: SINGLE_USER_SERVER_DEFAULTS_DOC.default_url }),
    start_timeout: seconds(60, 'seconds a server may take to start before the spawn fails'),
    http_timeout: seconds(30, 'seconds a started server may take to answer HTTP'),
    stop_timeout: seconds(10, 'seconds between SIGTERM and SIGKILL when a server stops'),
    poll_interval: seconds(30, 'seconds between checks that running servers are still alive'),
    ip: z.string().default('127.0.0.1').describe('address servers listen on'),
    port_range: z.tuple([z.number().int().min(1024), z.number().int().max(65535)]).default([61000, 65535]).describe("ports servers may listen on; keep it outside the kernel's ephemeral range (Linux: 32768-60999), where outgoing connections could take a chosen port before its server binds it"),
    mem_limit: z
      .string()
      .regex(/^\d+(\.\d+)?[KMGT]?$/i, 'a size like 512M or 2G')
      .optional()
      .describe('memory limit of each server (memory and swap together), e.g. 2G: local-process enforces it with a cgroup; passed as MEM_LIMIT'),
    cpu_limit: z.number().positive().optional().describe('CPU cores each server may use, e.g. 1.5: local-process enforces it with a cgroup (CFS quota); passed as CPU_LIMIT'),
    pids_limit: z.number().int().positive().default(512).describe('local-process: most processes and threads one server may run at once (a cgroup limit)'),
    run_as: z
      .enum(['dynamic', 'system', 'hub'])
      .default('dynamic')
      .describe(
        "local-process: whose Unix account runs each server. dynamic: a uid of its own per hub user, from uid_range (no /etc/passwd entry needed); system: the Unix account of the user's name (PAM, LDAP sites), refused below min_uid; hub: the hub's own account, only with trust_all_users",
      ),
    uid_range: z
      .tuple([z.number().int().positive(), z.number().int().positive()])
      .default([200000, 299999])
      .describe('run_as dynamic: the uids (and equal gids) given to users; both modes: the gids of courses\' groups (shared folders); keep it clear of the accounts and groups in /etc/passwd and /etc/group, and give each hub on a host its own range'),
    min_uid: z.number().int().positive().default(1000).describe('the lowest uid a server may run as (run_as system, and the Slurm spawner\'s user names)'),
    trust_all_users: z
      .boolean()
      .default(false)
      .describe('every user may read the hub\'s secrets and the other users\' files (a one-person or all-trusted hub): required by run_as hub'),
    users_root: z
      .string()
      .optional()
      .describe('local-process: the directory holding every working directory servers get (home/, courses/, ephemeral/); the launcher refuses any other (default <data_dir>-users)'),
    ephemeral: z.boolean().default(false).describe('local-process: each server runs in a fresh directory (its log inside) that is deleted when it stops; nothing of the user stays on disk'),
    slurm: slurmSchema.default(slurmSchema.parse({})).describe('settings of class slurm (docs/slurm.md)'),
  })
  .strict();

const amount = (def: number, doc: string) => z.number().nonnegative().default(def).describe(doc);

export const courseEnvironmentSchema = z
  .object({
    description: z.string().default('').describe('what teachers read when they choose it (e.g. "Python 3.11 with numpy, pandas")'),
    cmd: z.array(z.string()).min(1).optional().describe('the server command for this environment (default spawner.cmd)'),
    image: z.string().optional().describe('container image, for spawners that run images (shown to teachers and governance)'),
    default_url: z.string().optional().describe('where the server sends participants first, e.g. /lab (default spawner.default_url)'),
    environment: z.record(z.string(), z.string()).default({}).describe('extra environment variables of its servers ({username} is expanded)'),
  })
  .strict();

export const courseResourcesSchema = z
  .object({
    cpu: amount(2, 'CPUs'),
    memory_gb: amount(4, 'memory in GB'),
    storage_gb: amount(5, 'storage in GB'),
    gpu: z.number().int().nonnegative().default(0).describe('GPUs'),
  })
  .strict();

export const smtpSchema = z
  .object({
    host: z.string().min(1).describe('the SMTP server'),
    port: z.number().int().positive().default(587).describe('its port (465 with secure, 587 or 25 otherwise)'),
    secure: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it'),
    user: z.string().optional().describe('user name for SMTP AUTH'),
    password: z.string().optional().describe('password for SMTP AUTH (use ${ENV})'),
    from: z.string().min(3).describe('sender address, e.g. "Jupyter courses <jupyter@uni.example>"'),
    governance: z.array(z.string()).default([]).describe('addresses told about new and changed course requests'),
    user_email_template: z
      .string()
      .optional()
      .describe("a user's address when they give none and auth_state has no email, e.g. {username}@uni.example"),
    tls_reject_unauthorized: z.boolean().default(true).describe("check the SMTP server's certificate"),
    tls_ca_file: z
      .string()
      .optional()
      .describe("a PEM file of the certificate authorities trusted for the SMTP server's certificate, instead of Node's built-in list (e.g. a site's own CA)"),
    retries: z.number().int().nonnegative().default(3).describe('attempts after the first failed send'),
    retry_delay: seconds(30, 'seconds before the first retry (doubled for each next one)'),
  })
  .strict();

export const coursesSchema = z
  .object({
    enabled: z.boolean().default(false).describe('offer course hubs: teachers request courses at /hub/courses, governance reviews them'),
    environments: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, "_" and "-"'), courseEnvironmentSchema)
      .default({})
      .describe('named environments teachers choose from ("custom", an image of their own, always needs review)'),
    limits: courseResourcesSchema.default(courseResourcesSchema.parse({})).describe('the most a course may ask per participant'),
    capacity: courseResourcesSchema
      .extend({ cpu: amount(64, 'CPUs'), memory_gb: amount(256, 'memory in GB'), storage_gb: amount(2000, 'storage in GB') })
      .default({ cpu: 64, memory_gb: 256, storage_gb: 2000, gpu: 0 })
      .describe('what all courses together may use at the same time (the review page compares requests with it)'),
    prepare_before: seconds(86400, 'seconds before starts_at that a course is prepared and teachers may enter'),
    retention_days: z.number().nonnegative().default(30).describe("days after ends_at that participants' files are kept before they are archived"),
    archive_keep_days: z.number().nonnegative().default(90).describe('days the archives stay downloadable before the course is deleted'),
    ending_soon_days: z.number().nonnegative().default(3).describe('days before ends_at that teachers are reminded of the end'),
    max_duration_days: z.number().positive().default(200).describe('longest course'),
    max_participants: z.number().int().positive().default(500).describe('most participants a course may ask for'),
    allow_file_repos: z.boolean().default(false).describe('let content repositories be file:/// URLs on the hub host (tests, single-host sites)'),
    terms_of_use: z
      .object({
        file: z.string().optional().describe('a text or HTML file with the terms: teachers accept them when they request a course, participants when they join'),
        version: z.string().min(1).default('1').describe('the version of the terms; participants who accepted another version accept this one before their next start'),
      })
      .strict()
      .default({ version: '1' })
      .describe('terms of use of the course service'),
    scheduler_interval: z.number().positive().default(60).describe('seconds between checks for courses to prepare, open, close, archive and delete'),
    changes_without_review: z
      .array(z.enum(['title', 'description', 'co_teachers']))
      .default([])
      .describe('fields of an approved course that its teachers may change without governance reviewing the change (any of title, description, co_teachers)'),
    smtp: smtpSchema.optional().describe('e-mail; without it no e-mail is sent'),
  })
  .strict();

export const sitePasswordSchema = z
  .object({
    password: z.string().min(8).describe('the password (use ${ENV}); any user name is accepted with it'),
    realm: z.string().default('Jupyter').describe('the name browsers show in their password prompt'),
    max_failures: z.number().int().positive().default(10).describe('wrong passwords from one address before it must wait'),
    window: seconds(60, 'seconds over which wrong passwords are counted, and the wait after too many'),
  })
  .strict();

export const guessLimitsSchema = z
  .object({
    max_failures_per_client: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe('failed logins, OAuth client checks or course join codes from one address (after trusted_proxies) before it must wait; a classroom behind one NAT address counts as one client'),
    max_failures_per_account: z.number().int().positive().default(10).describe('failed logins (or join codes) for one account, from anywhere, before it must wait'),
    window: seconds(600, 'seconds over which failures are counted, and the wait after too many (429 with Retry-After)'),
  })
  .strict();

export const contentSchema = z
  .object({
    allowed_repos: z
      .array(z.string().min(1))
      .default([])
      .describe('repositories content links may fetch, as patterns: * any characters but /, ** any at all (e.g. https://github.com/my-org/*); empty: content links are off'),
    timeout: seconds(120, 'seconds a clone or update may take'),
  })
  .strict();

export const cullerSchema = z
  .object({
    enabled: z.boolean().default(false).describe('stop servers nobody uses (what the jupyterhub-idle-culler service does, built in)'),
    timeout: seconds(600, 'seconds without activity (proxy traffic or the server\'s own reports) after which a server is stopped'),
    every: seconds(0, 'seconds between checks (0: timeout / 2)'),
    max_age: seconds(0, 'seconds after its start a server is stopped even when active (0: no limit)'),
    warn_before: seconds(300, "seconds before a server is stopped that its user's hub pages warn, with a button that keeps an idle server running (0: no warning)"),
    cull_users: z.boolean().default(false).describe('also delete users with no server left who were inactive for timeout'),
    cull_admin_users: z.boolean().default(true).describe('with cull_users, delete inactive admins too'),
    remove_named_servers: z.boolean().default(false).describe('delete named servers once culled, not only stop them'),
    concurrency: z.number().int().positive().default(10).describe('most servers stopped at once'),
  })
  .strict();

export const brandingSchema = z
  .object({
    site_name: z.string().min(1).max(80).default('Ganymede').describe('the name in the navigation bar and in every page title'),
    stylesheet: z
      .string()
      .min(1)
      .optional()
      .describe("a CSS file linked after the hub's own on every page: colours (the variables at the top of src/web/static/ganymede.css), fonts, spacing"),
    footer: z.string().default('').describe('text at the bottom of every page (shown as text, not HTML): who runs the hub, whom to ask'),
    footer_links: z
      .array(
        z
          .object({
            label: z.string().min(1).describe('the link text'),
            url: z.string().url().refine((u) => /^https?:/i.test(u), 'an http or https URL').describe('where it goes'),
          })
          .strict(),
      )
      .default([])
      .describe('links at the bottom of every page (imprint, privacy, help), each {label, url}'),
    login_message: z.string().default('').describe('text above the login form (how to get an account, terms of use), shown as text'),
  })
  .strict();

export const configSchema = z
  .object({
    bind_url: z.string().url().default('http://127.0.0.1:8000/').describe('public address; its path is the base URL (e.g. http://0.0.0.0:8000/jh/)'),
    public_url: z
      .string()
      .url()
      .optional()
      .describe("the hub's address as people reach it, e.g. behind a reverse proxy https://hub.uni.example/ (links in e-mails; default bind_url)"),
    hub_connect_url: z.string().url().optional().describe('URL servers use to reach the hub API (default: bind_url, with 127.0.0.1 for 0.0.0.0)'),
    subdomain_host: z
      .string()
      .url()
      .refine((u) => /^https?:$/.test(new URL(u).protocol) && new URL(u).pathname === '/' && !new URL(u).search, 'an http(s) origin with no path, e.g. https://hub.example.org')
      .optional()
      .describe("per-user origins, as JupyterHub's subdomain_host: the hub at this origin, each user's servers at https://<user>.<its host>/user/<user>/ and services at https://services.<its host>/services/<name>/, so that no user's page shares an origin with the hub or another user (needs a wildcard DNS entry and certificate)"),
    trusted_proxies: z
      .array(z.string())
      .default(['127.0.0.1', '::1'])
      .describe('addresses of reverse proxies whose X-Forwarded-Proto/Host/For headers are believed'),
    max_connections_per_client: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('most connections one client address may hold open at once (trusted_proxies are not limited); a whole classroom behind one NAT address counts as one client'),
    data_dir: z.string().default('./data').describe("where the database, the cookie secret and the servers' logs live (mode 0700, owned by user)"),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*\$?$/, 'a Unix account name')
      .default('ganymede')
      .describe('the Unix account the hub runs as: started as root, it starts its launcher and then drops to this account (`make start` creates it)'),
    db_url: z.string().optional().describe('database URL (default sqlite:///<data_dir>/ganymede.sqlite)'),
    cookie_secret: z.string().min(32).optional().describe('hex secret signing cookies (default: generated into <data_dir>/cookie_secret, mode 0600)'),
    cookie_max_age_days: z.number().positive().default(14).describe('how long a login lasts: the browser drops the login cookie after this many days, and the hub refuses an older one'),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('log verbosity'),
    authenticator: authenticatorSchema.default(authenticatorSchema.parse({})).describe('how people log in'),
    spawner: spawnerSchema.default(spawnerSchema.parse({})).describe('how servers are started'),
    allow_named_servers: z.boolean().default(false).describe('let users run more than one server'),
    named_server_limit_per_user: z.number().int().nonnegative().default(0).describe('most named servers a user may have (0 = no limit)'),
    services: z.array(serviceSchema).default([]).describe('services, as JupyterHub\'s c.JupyterHub.services'),
    load_roles: z.array(roleSchema).default([]).describe("roles, as JupyterHub's c.JupyterHub.load_roles"),
    announcement: z.string().default('').describe("a notice shown as text at the top of every hub page (a maintenance window, say), as JupyterHub's template variable"),
    announcement_login: z.string().default('').describe('shown on the login page instead of announcement'),
    announcement_home: z.string().default('').describe('shown on the home page instead of announcement'),
    announcement_spawn: z.string().default('').describe('shown on the spawn and spawn-pending pages instead of announcement'),
    logo_file: z
      .string()
      .min(1)
      .optional()
      .describe("an image file (svg, png, jpg, gif, webp or ico) shown in the navigation bar instead of Ganymede's and served at /hub/logo, as JupyterHub's logo_file"),
    branding: brandingSchema
      .default(brandingSchema.parse({}))
      .describe("the pages' look without forking them, in place of JupyterHub's template_paths and template_vars"),
    load_groups: z
      .record(
        z.string().min(1),
        z
          .object({
            users: stringList('the members, created at start when they do not exist'),
            properties: z.record(z.string(), z.unknown()).optional().describe("the group's properties, set at every start when given (as PUT /groups/{name}/properties)"),
          })
          .strict(),
      )
      .default({})
      .describe("groups created at start with these members and properties, as JupyterHub's c.JupyterHub.load_groups (members are added, never removed; give groups roles with load_roles)"),
    custom_scopes: z
      .record(
        z.string(),
        z
          .object({
            description: z.string().min(1).describe('what the scope lets its holder do'),
            subscopes: stringList('other custom scopes it implies'),
          })
          .strict(),
      )
      .default({})
      .describe("scopes of the site's own services, as JupyterHub's c.JupyterHub.custom_scopes: names start with custom:, and roles and tokens may grant them"),
    last_activity_interval: seconds(300, 'seconds between updates of last_activity from proxy traffic'),
    concurrent_spawn_limit: z.number().int().nonnegative().default(100).describe('most servers starting at once (0 = no limit); further starts wait their turn in a first-come queue, each told its place and the expected wait'),
    active_server_limit: z.number().int().nonnegative().default(0).describe('most servers running or starting at once (0 = no limit)'),
    api_page_default_limit: z.number().int().positive().default(50).describe('page size of list endpoints when none is asked'),
    api_page_max_limit: z.number().int().positive().default(200).describe('largest page size a client may ask'),
    cleanup_servers: z.boolean().default(true).describe('stop user servers when the hub shuts down (false: leave them running and reattach)'),
    oauth_token_expires_in: seconds(14 * 24 * 3600, 'lifetime of OAuth access tokens issued to servers and services'),
    courses: coursesSchema.default(coursesSchema.parse({})).describe('course hubs: requests, review, dates, participants (docs/courses.md)'),
    culler: cullerSchema.default(cullerSchema.parse({})).describe('the built-in idle culler, as jupyterhub-idle-culler'),
    content: contentSchema.default(contentSchema.parse({})).describe("content links in nbgitpuller's format: /hub/user-redirect/git-pull?repo=…"),
    guess_limits: guessLimitsSchema.default(guessLimitsSchema.parse({})).describe('limits on guessing passwords, OAuth client secrets and join codes, for every authenticator'),
    shared_password: sitePasswordSchema
      .optional()
      .describe('one password (HTTP Basic) in front of every page, the API and the user servers, with any authenticator; /hub/health stays open (docs/workshop.md)'),
  })
  .strict();

export type HubConfigInput = z.input<typeof configSchema>;
export type HubConfig = z.output<typeof configSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type RoleConfig = z.output<typeof roleSchema>;
export type SpawnerConfig = z.output<typeof spawnerSchema>;
export type AuthenticatorConfig = z.output<typeof authenticatorSchema>;
export type OidcConfig = z.output<typeof oidcSchema>;
export type LdapConfig = z.output<typeof ldapSchema>;
export type PamConfig = z.output<typeof pamSchema>;
export type GithubConfig = z.output<typeof githubSchema>;
export type NativeConfig = z.output<typeof nativeSchema>;
export type SamlConfig = z.output<typeof samlSchema>;
export type CoursesConfig = z.output<typeof coursesSchema>;
export type SmtpConfig = z.output<typeof smtpSchema>;
export type SlurmConfig = z.output<typeof slurmSchema>;
export type SlurmPartitionConfig = z.output<typeof slurmPartitionSchema>;
