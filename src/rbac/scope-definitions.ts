/**
 * Every scope JupyterHub 5 defines, with what it implies.
 *
 * Names and the implication tree (`subscopes`) are JupyterHub's REST API contract and must match
 * JupyterHub 5.x exactly; descriptions are ours (shown on the OAuth authorization page and in docs).
 * Holding a scope means holding every scope below it in the tree, with the same filter.
 */

export interface ScopeDefinition {
  /** One sentence for people deciding whether to grant the scope. */
  readonly description: string;
  /** Scopes this one implies directly; the transitive closure is computed in `scopes.ts`. */
  readonly subscopes?: readonly string[];
}

export const SCOPE_DEFINITIONS: Readonly<Record<string, ScopeDefinition>> = Object.freeze({
  '(no_scope)': { description: 'Find out who owns the credentials making the request.' },
  self: { description: 'Everything about your own account and servers (for users; nothing extra for services).' },
  inherit: { description: 'Whatever the owner of the token is allowed to do.' },
  'admin-ui': { description: 'Open the admin page; the actions on it need their own scopes.' },

  // users
  'admin:users': {
    description:
      'Create, change and delete users and read their authentication state (not their servers or tokens); close to full control of the hub.',
    subscopes: ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  },
  'admin:auth_state': { description: "Read users' authentication state." },
  users: {
    description: 'Read and change user models (not servers, tokens or authentication state).',
    subscopes: ['read:users', 'list:users', 'users:activity'],
  },
  'delete:users': { description: 'Delete users.' },
  'list:users': { description: 'List users (at least their names).', subscopes: ['read:users:name'] },
  'read:users': {
    description: "Read user models, including the default server's URL when it runs.",
    subscopes: ['read:users:name', 'read:users:groups', 'read:users:activity'],
  },
  'read:users:name': { description: "Read users' names." },
  'read:users:groups': { description: 'Read which groups users belong to.' },
  'read:users:activity': { description: "Read when users were last active." },
  'users:activity': { description: "Report users' latest activity.", subscopes: ['read:users:activity'] },

  // roles
  'read:roles': {
    description: 'Read which roles are assigned to users, services and groups.',
    subscopes: ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
  },
  'read:roles:users': { description: 'Read the roles assigned to users.' },
  'read:roles:services': { description: 'Read the roles assigned to services.' },
  'read:roles:groups': { description: 'Read the roles assigned to groups.' },

  // servers
  'admin:servers': {
    description: 'Create, start, stop and delete user servers and read and change their spawner state.',
    subscopes: ['admin:server_state', 'servers'],
  },
  'admin:server_state': { description: "Read and change user servers' spawner state." },
  servers: { description: 'Start and stop user servers.', subscopes: ['read:servers', 'start:servers', 'delete:servers'] },
  // As in JupyterHub 6: start without the right to stop (a 'servers' holder has both).
  'start:servers': { description: "Start and edit users' servers." },
  'read:servers': {
    description: "Read server models (not their spawner state) and their owners' names.",
    subscopes: ['read:users:name'],
  },
  'delete:servers': { description: 'Stop and delete user servers.' },

  // tokens
  tokens: { description: 'Create, read and revoke user API tokens.', subscopes: ['read:tokens'] },
  'read:tokens': { description: 'Read user API tokens (not their secrets).' },

  // groups
  'admin:groups': {
    description: 'Create and delete groups, and everything the groups scope allows.',
    subscopes: ['groups', 'read:roles:groups', 'delete:groups'],
  },
  groups: {
    description: 'Read and change groups, including their members (membership can change what members may do).',
    subscopes: ['read:groups', 'list:groups'],
  },
  'list:groups': { description: 'List groups (at least their names).', subscopes: ['read:groups:name'] },
  'read:groups': { description: 'Read group models.', subscopes: ['read:groups:name'] },
  'read:groups:name': { description: "Read groups' names." },
  'delete:groups': { description: 'Delete groups.' },

  // services
  'admin:services': {
    description: 'Create, read, change and delete services that were not defined in the configuration file.',
    subscopes: ['list:services', 'read:services', 'read:roles:services'],
  },
  'list:services': { description: 'List services (at least their names).', subscopes: ['read:services:name'] },
  'read:services': { description: 'Read service models.', subscopes: ['read:services:name'] },
  'read:services:name': { description: "Read services' names." },

  // hub
  'read:hub': { description: 'Read details about the hub itself.' },
  'access:servers': { description: 'Use user servers, from the API or a browser.' },
  'access:services': { description: 'Use services, from the API or a browser.' },

  // sharing (JupyterHub 5)
  'users:shares': {
    description: 'See and revoke the servers shared with a user.',
    subscopes: ['read:users:shares'],
  },
  'read:users:shares': { description: 'See the servers shared with a user.' },
  'groups:shares': {
    description: 'See and revoke the servers shared with a group.',
    subscopes: ['read:groups:shares'],
  },
  'read:groups:shares': { description: 'See the servers shared with a group.' },
  'read:shares': { description: 'See who a server is shared with.' },
  shares: {
    description: 'Share servers with users and groups, and revoke those shares.',
    subscopes: ['access:servers', 'read:shares', 'users:shares', 'groups:shares'],
  },

  proxy: {
    description: "Read the proxy's routing table, sync it with the hub, and tell the hub about a new proxy.",
  },
  shutdown: { description: 'Shut the hub down.' },
  'read:metrics': { description: 'Read Prometheus metrics.' },
} satisfies Record<string, ScopeDefinition>);

/**
 * Scopes of Ganymede's own features, which JupyterHub does not have. Kept apart so that the
 * JupyterHub set above stays exactly JupyterHub's. Course scopes are filtered by the course's
 * group: `courses:manage!group=course-<slug>`.
 */
export const GANYMEDE_SCOPE_DEFINITIONS: Readonly<Record<string, ScopeDefinition>> = Object.freeze({
  'admin:courses': {
    description: 'Everything about every course: request, review, manage, join.',
    subscopes: ['courses:request', 'courses:review', 'courses:manage', 'courses:join'],
  },
  'courses:request': { description: 'Request new courses and follow your requests.' },
  'courses:review': {
    description: 'Review course requests: approve, reject or send them back, and see every course.',
    subscopes: ['read:courses'],
  },
  'courses:manage': {
    description: 'Manage courses: edit or cancel them, accept participants, hand out join links, download archives.',
    subscopes: ['read:courses'],
  },
  'read:courses': { description: 'Read courses, their participants and their history.' },
  'courses:join': { description: 'Apply to join courses with a join code.' },
} satisfies Record<string, ScopeDefinition>);
