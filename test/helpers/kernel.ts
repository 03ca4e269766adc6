/** Runs code in a new python3 kernel of a user's server through the hub's proxy, as JupyterLab would. */
import WebSocket from 'ws';
import { KernelManager, ServerConnection } from '@jupyterlab/services';

/** Starts a kernel at `<hubUrl><serverPath>`, runs `code`, returns what it printed, shuts the kernel down. */
export async function runInKernel(hubUrl: string, serverPath: string, token: string, code: string): Promise<string> {
  const settings = ServerConnection.makeSettings({
    baseUrl: `${hubUrl}${serverPath}`,
    wsUrl: `${hubUrl.replace(/^http/, 'ws')}${serverPath}`,
    token,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const kernels = new KernelManager({ serverSettings: settings });
  try {
    const kernel = await kernels.startNew({ name: 'python3' });
    let output = '';
    const future = kernel.requestExecute({ code });
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'stream') output += (msg.content as { text: string }).text;
    };
    const reply = await future.done;
    if (reply.content.status !== 'ok') throw new Error(`kernel answered ${reply.content.status}`);
    await kernel.shutdown();
    return output;
  } finally {
    kernels.dispose();
  }
}

/**
 * Starts a kernel and sends it `code` without waiting for an answer (code that takes the server down,
 * e.g. past its memory limit): the kernel REST API and one execute_request over its websocket, in
 * Jupyter's JSON websocket protocol. Resolves once the request is sent; the socket is left to close.
 */
export async function executeAndForget(hubUrl: string, serverPath: string, token: string, code: string): Promise<void> {
  const created = await fetch(`${hubUrl}${serverPath}api/kernels`, {
    method: 'POST',
    headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'python3' }),
  });
  if (created.status !== 201) throw new Error(`starting a kernel answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}${serverPath}api/kernels/${id}/channels?token=${token}`);
  ws.on('error', () => undefined); // the server is expected to go away
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const header = { msg_id: `execute-${Date.now()}`, username: '', session: `session-${Date.now()}`, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() };
  const content = { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true };
  await new Promise<void>((resolve, reject) =>
    ws.send(JSON.stringify({ header, parent_header: {}, metadata: {}, content, channel: 'shell', buffers: [] }), (err) => (err ? reject(err) : resolve())),
  );
}
