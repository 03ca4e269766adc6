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
