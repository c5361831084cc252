// The CLI's admin commands (`fl …`, `fl models …`) sign in to a running peer through the client
// SDK, as the web UI does; the password comes from a file so it never appears in the process list
// or shell history.
import { readFile } from 'node:fs/promises'
import { MedichainClient } from '../../protocol/client/client.ts'

/** The peer's HTTP address when --url is not given. */
export const DEFAULT_URL = 'http://127.0.0.1:8080'

/** Signs in as `username` with the password in `passwordFile`, runs `fn`, and signs out. */
export async function asAdmin<T> (url: string, username: string, passwordFile: string, fn: (client: MedichainClient) => Promise<T>): Promise<T> {
  const password = (await readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '')
  const client = new MedichainClient({ baseUrl: url })
  await client.signIn(username, password)
  try {
    return await fn(client)
  } finally {
    await client.signOut()
  }
}
