// The peer under load for `npm run bench:load`: one hospital, alone in its consortium, in a fresh
// data folder, with production settings except scrypt's cost (2^14): the mix has no sign-ins, so
// it only shortens the setup of the users. Runs in its own process so its RSS and CPU profile are
// its own; prints one JSON line `{ url, pid, setup }` on stdout when ready and stops on SIGTERM.
import { startOneMemberPeer } from '../one-member-peer.ts'

const { peer, stop } = await startOneMemberPeer('load')

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void (async () => {
    await stop()
    process.exit(0)
  })()
})
process.stdout.write(`${JSON.stringify({ url: peer.http.url, pid: process.pid, setup: peer.auth.setupLink(peer.http.url) })}\n`)
