// A minimal JSON-RPC caller for the few direct reads the indexer makes (head, block hashes);
// the processor has its own client for everything else.
export type JsonRpc = <T>(method: string, params?: unknown[]) => Promise<T>;

export function jsonRpc(url: string, timeoutMs = 10_000): JsonRpc {
  let id = 0;
  return async <T>(method: string, params: unknown[] = []): Promise<T> => {
    id += 1;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`${method}: the RPC answered HTTP ${response.status}`);
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
}

export async function chainHead(rpc: JsonRpc): Promise<number> {
  return Number(await rpc<string>('eth_blockNumber'));
}
