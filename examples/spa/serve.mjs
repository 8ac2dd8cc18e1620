#!/usr/bin/env node
// Serves this folder's static SPA example, and nothing else, with Node alone:
//
//   node examples/spa/serve.mjs          # http://127.0.0.1:4200
//   PORT=5000 HOST=127.0.0.1 node examples/spa/serve.mjs
//
// PORT=0 picks a free port; the first line printed names the address.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FILES = new Map([
  ['/', ['index.html', 'text/html; charset=utf-8']],
  ['/index.html', ['index.html', 'text/html; charset=utf-8']],
  ['/app.js', ['app.js', 'text/javascript; charset=utf-8']],
  ['/config.js', ['config.js', 'text/javascript; charset=utf-8']],
]);

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT ?? 4200);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT: expected a port number from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const file = FILES.get(path);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
  } else if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  } else {
    try {
      const body = await readFile(HERE + file[0]);
      res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${err.message}\n`);
    }
  }
});

server.on('error', (err) => {
  console.error(`cannot serve on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, () => {
  const { port: bound } = server.address();
  console.log(`SPA example at http://${host}:${bound}/ (the API defaults to port 3000 of the same host; ?api=<origin> to change it)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
  });
}
