// The processes a browser test needs: the app binary, a private redis-server,
// and the cross-origin SPA's static file server. Each is started on a free
// port, waited for with a bounded poll, and stopped by its pid.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BINARY = process.env.SESSION_BRIDGE_BIN ?? `${REPO}target/debug/session-bridge`;
/** The example binaries, next to BINARY (`cargo build --all-targets` builds them). */
export const EXAMPLES = `${dirname(BINARY)}/examples/`;
export const SPA_SERVER = `${REPO}examples/spa/serve.mjs`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Every child still running when this test process ends is killed, so a
// failed or interrupted test never leaves a server behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A random session secret of 96 bytes (the app wants at least 64). */
export function newSecret() {
  return randomBytes(48).toString('hex');
}

/**
 * Polls `probe` (an async function returning truthy when ready) every 50 ms
 * until it succeeds or `timeoutMs` passes; fails early when `child` exits.
 */
async function waitReady(what, child, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${child.output()}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(50);
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms (${lastError?.message ?? 'no answer'}):\n${child.output()}`);
}

/** Spawns a child whose stdout and stderr are kept (the last 200 kB) for failure reports. */
function launch(command, args, env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output += chunk;
    if (output.length > 200_000) output = output.slice(-200_000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  child.output = () => output;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  child.on('error', (err) => keep(`\nspawn error: ${err.message}\n`));
  running.add(child);
  return child;
}

/**
 * Sends `signal` to the child by pid and waits (bounded) for it to exit;
 * SIGKILL if it does not. Resolves {code, signal} of the exit.
 */
async function stopChild(child, signal = 'SIGTERM', timeoutMs = 12_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  try { process.kill(child.pid, signal); } catch { /* already gone */ }
  let timer;
  const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
  const result = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (result !== 'timeout') return result;
  try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  const killed = await child.exited;
  return { ...killed, timedOut: true };
}

/**
 * Starts the app binary on `port` (a free one by default) and waits until
 * GET /healthz answers 200.
 *
 * @param {object} [options]
 * @param {number} [options.port]
 * @param {Record<string, string>} [options.env] extra variables (ALLOWED_ORIGINS, REDIS_URL, ...)
 * @param {string} [options.binary] another binary built on the app (an example: `${EXAMPLES}socketio_pages`)
 * @param {string[]} [options.args] its arguments
 * @returns {Promise<AppServer>}
 */
export async function startApp({ port, env = {}, binary = BINARY, args = [] } = {}) {
  if (!existsSync(binary)) {
    throw new Error(`the app binary ${binary} is missing: run \`cargo build --locked --all-targets\` in the repository first`);
  }
  port ??= await freePort();
  const fullEnv = {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PORT: String(port),
    SESSION_SECRET: newSecret(),
    RUST_LOG: 'info',
    ...env,
  };
  const child = launch(binary, args, fullEnv);
  const origin = `http://127.0.0.1:${port}`;
  await waitReady(`session-bridge on port ${port}`, child, async () => {
    const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  }, 15_000);
  return new AppServer(child, port, origin, fullEnv, { binary, args });
}

export class AppServer {
  constructor(child, port, origin, env, command = { binary: BINARY, args: [] }) {
    this.child = child;
    this.command = command;
    this.pid = child.pid;
    this.port = port;
    this.origin = origin;
    this.env = env;
  }

  /** The server's log so far. */
  output() {
    return this.child.output();
  }

  /** GET /healthz as JSON. */
  async health() {
    const res = await fetch(`${this.origin}/healthz`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, ...(await res.json()) };
  }

  /** SIGTERM by pid; resolves {code, signal, ms} once it has exited (SIGKILL after 12 s). */
  async stop() {
    const started = Date.now();
    const result = await stopChild(this.child, 'SIGTERM');
    return { ...result, ms: Date.now() - started };
  }

  /** Starts the same binary again on the same port with the same environment. */
  async restart() {
    await this.stop();
    return startApp({ port: this.port, env: this.env, ...this.command });
  }
}

/** Whether redis-server is on the PATH. */
export function haveRedis() {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
}

/** Sends PING over a raw socket; true on +PONG. */
function ping(port) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000, () => socket.destroy(new Error('PING timed out')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.end();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

/**
 * Starts a private redis-server (no persistence) on a free port and waits for
 * PING. Returns {port, url, stop()}.
 */
export async function startRedis() {
  if (!haveRedis()) {
    throw new Error('redis-server is not on the PATH: apt-get install redis-server (scripts/test installs it when run as root)');
  }
  const port = await freePort();
  const child = launch('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  ], { PATH: process.env.PATH });
  await waitReady(`redis-server on port ${port}`, child, () => ping(port), 10_000);
  return {
    port,
    pid: child.pid,
    url: `redis://127.0.0.1:${port}/0`,
    output: () => child.output(),
    stop: () => stopChild(child, 'SIGTERM', 5000),
  };
}

/**
 * Serves examples/spa/ with its own serve.mjs on a free port of 127.0.0.1
 * and waits until GET / answers 200. Returns {port, origin, stop()}.
 */
export async function startSpaServer() {
  const port = await freePort();
  const child = launch(process.execPath, [SPA_SERVER], {
    PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port),
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitReady(`the SPA server on port ${port}`, child, async () => {
    const res = await fetch(`${origin}/`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  }, 10_000);
  return { port, origin, pid: child.pid, output: () => child.output(), stop: () => stopChild(child, 'SIGTERM', 5000) };
}
