#!/usr/bin/env node
// A user-server stand-in for the WebSocket figure: answers HTTP 200 (so the hub sees it ready) and
// echoes every WebSocket message, on the address in JUPYTERHUB_SERVICE_URL.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const url = new URL(process.env.JUPYTERHUB_SERVICE_URL);
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"version":"ws-echo"}');
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
server.listen(Number(url.port), url.hostname);
process.on('SIGTERM', () => process.exit(0));
