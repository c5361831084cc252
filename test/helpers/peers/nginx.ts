// A real nginx reverse proxy for tests, run as a child process with a temp config on 127.0.0.1
// and a free port. Debian's nginx-light is installed by CI; elsewhere a missing binary skips the
// test with a message, but under CI=true it fails, so the proxy test can never silently vanish.
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { tempDir } from '../ledger/fixture.ts'
import { waitFor } from '../timeout.ts'

/** Where Debian installs nginx. */
const NGINX_PATHS = ['/usr/sbin/nginx', '/usr/bin/nginx']

/** The nginx binary, or undefined when none is installed. */
export function findNginx (): string | undefined {
  for (const p of NGINX_PATHS) if (spawnSync(p, ['-v']).status === 0) return p
  return undefined
}

/** A running proxy: its base URL and how to stop it. */
export interface Nginx { url: string, stop(): Promise<void> }

/** A TCP port free at this moment on 127.0.0.1. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/**
 * Starts nginx in the foreground, proxying everything to `upstream` (http://127.0.0.1:port) and
 * appending the client's address to X-Forwarded-For, as a hospital's TLS proxy would.
 */
export async function startNginx (binary: string, upstream: string): Promise<Nginx> {
  const dir = await tempDir('medichain-nginx-')
  await mkdir(join(dir, 'logs'))
  const port = await freePort()
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`
  await writeFile(join(dir, 'nginx.conf'), conf)
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs', 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  let exited = false
  const exit = new Promise<void>(resolve => child.once('exit', () => { exited = true; resolve() }))
  const url = `http://127.0.0.1:${port}`
  // nginx says nothing when it is ready; the port answering is the only signal.
  await waitFor(async () => {
    if (exited) throw new Error(`nginx exited: ${stderr}`)
    try {
      await (await fetch(`${url}/api/auth/me`)).arrayBuffer()
      return true
    } catch {
      return false
    }
  }, { timeout: 10_000, what: 'nginx to listen' })
  return {
    url,
    async stop () {
      if (!exited) child.kill('SIGTERM')
      await exit
    }
  }
}
