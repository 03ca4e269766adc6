/**
 * HTTP requests sent from a chosen loopback address, to play a client that is, or is not, one of the
 * hub's trusted_proxies. On Linux every 127.x.y.z is this machine, so a request from 127.0.0.2
 * reaches a hub bound to 127.0.0.1 and the hub sees 127.0.0.2 as its peer.
 */
import http from 'node:http';

export interface FromInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface FromResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The Set-Cookie header fields, one per cookie (empty when none). */
  cookies: string[];
  text: string;
}

/** Sends one request from `localAddress` on a fresh connection and reads the whole answer (redirects are not followed). */
export function requestFrom(localAddress: string, url: string, init: FromInit = {}): Promise<FromResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, localAddress, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, cookies: res.headers['set-cookie'] ?? [], text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.end(init.body);
  });
}
