// The peer under test for `npm run bench:dicom`: one hospital, alone in its consortium, in a fresh
// data folder, with the DICOM listener on a free port and, with `--model`, the shipped default
// model in the analyser slot. Runs in its own process so its CPU is its own. Prints one JSON line
// `{ url, dicomPort, setup }` when ready, then `{ images: n }` each time a block adds images (so
// the bench sees when every instance is on the ledger without polling), and stops on SIGTERM.
import type { Block } from '../../protocol/block.ts'
import { DICOM_DEFAULTS } from '../../node/config-dicom.ts'
import { startOneMemberPeer } from './one-member-peer.ts'

const { peer, stop } = await startOneMemberPeer('dicom', {
  defaultModel: process.argv.includes('--model'),
  // C-STORE answers once an instance is durable in custody, so one association's instances overlap.
  dicom: { ...DICOM_DEFAULTS, port: 0, acknowledge: 'custody' }
}, process.env.BENCH_PEER_LOG === 'info' ? 'info' : 'warn')

let images = 0
peer.ledger.addEventListener('block:appended', (e) => {
  const block = (e as CustomEvent<Block>).detail
  const added = block.txs.filter(d => d.tx.type === 'image.add').length
  if (added === 0) return
  images += added
  process.stdout.write(`${JSON.stringify({ images })}\n`)
})

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void (async () => {
    await stop()
    process.exit(0)
  })()
})
process.stdout.write(`${JSON.stringify({ url: peer.http.url, dicomPort: peer.dicom?.address()?.port, setup: peer.auth.setupLink(peer.http.url) })}\n`)
