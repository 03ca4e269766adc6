/** /hub/admin: the admin page (scope admin-ui, as JupyterHub); every action on it goes through the REST API. */
import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../http/context.js';
import { checkScope, scopeFilterFor } from '../rbac/scopes.js';
import { page, scopes } from '../rbac/route-policy.js';
import { adminPage } from './templates/index.js';
import { loggedIn, pageContext, redirectToLogin, sendPage } from './render.js';

export function registerAdminPage(app: FastifyInstance, ctx: HubContext): void {
  app.get('/admin', page(scopes(['admin-ui'])), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = caller.principal.user;
    return sendPage(
      reply,
      adminPage(pageContext(ctx, req, reply, user), {
        admin: user.admin === 1,
        canAddUsers: scopeFilterFor(caller.scopes, 'admin:users')?.unfiltered === true,
        canShutdown: checkScope(caller.scopes, 'shutdown'),
        canListGroups: scopeFilterFor(caller.scopes, 'list:groups') !== null,
        canCreateGroups: scopeFilterFor(caller.scopes, 'admin:groups')?.unfiltered === true,
        pageSize: Math.min(50, ctx.config.api_page_max_limit),
      }),
    );
  });
}
