/**
 * A server-sent event stream on a hijacked reply: the headers that keep proxies (nginx) from
 * buffering it, `data:` lines of JSON, and a blank line every 8 s so that idle connections stay open.
 * Shared by the spawn progress stream and the course control room's many-at-once actions.
 */
import type { FastifyReply } from 'fastify';

const KEEPALIVE_MS = 8000;

export interface EventStream {
  send(event: object): void;
  /** Stops the keep-alive and ends the response; idempotent. */
  end(): void;
}

export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
  const keepalive = setInterval(() => res.write('\n\n'), KEEPALIVE_MS);
  let ended = false;
  return {
    send: (event) => void res.write(`data: ${JSON.stringify(event)}\n\n`),
    end: () => {
      if (ended) return;
      ended = true;
      clearInterval(keepalive);
      res.end();
    },
  };
}
