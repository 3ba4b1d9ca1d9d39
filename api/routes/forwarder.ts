// /v1/forwarder: gasless requests. A dapp's backend (a user or operator key) posts what its
// user signed; coffer checks and relays it, and the user needs no ETH.
import { Hono } from 'hono';
import { forwardRequestView, getForwardRequest, getTransaction, submitForwardRequest, type ForwarderContext } from '../../relayer/index.ts';
import { requireRole } from '../auth.ts';
import type { ApiDependencies, AppEnv } from '../context.ts';
import { pathParam } from '../params.ts';
import { ApiError, readJsonBody } from '../problem.ts';

export function forwarderRoutes(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const ctx = (): ForwarderContext => {
    if (!deps.relay?.forwarder) throw new ApiError(503, 'forwarder_unavailable', 'gasless requests need EVM_RPC_URL, EVM_FORWARDER_ADDRESS and a relayer');
    return deps.relay.forwarder;
  };
  const view = async (id: string) => {
    const request = await getForwardRequest(deps.pool, id);
    if (!request) throw new ApiError(404, 'forward_request_not_found', `no forward request ${id.slice(0, 40)}`);
    const relay = request.relayTransactionId && request.relayerId ? await getTransaction(deps.pool, request.relayerId, request.relayTransactionId) : null;
    return forwardRequestView(request, relay ? (relay.minedHash ?? relay.hash) : null);
  };
  app.post('/requests', requireRole('user', 'operator'), async (c) => {
    const { request, created } = await submitForwardRequest(ctx(), await readJsonBody(c.req), c.get('identity').id);
    return c.json(await view(request.id), created ? 202 : 200);
  });
  app.get('/requests/:id', requireRole('user', 'operator', 'auditor'), async (c) => c.json(await view(pathParam(c, 'id', 'forwardRequest'))));
  return app;
}
