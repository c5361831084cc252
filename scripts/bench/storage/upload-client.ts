// The uploading clinician of `npm run bench:storage --only upload`, in a process of its own as a
// browser would be: it signs in, builds the synthetic DICOM, and on each `upload` message from the
// benchmark sends it through the SDK and answers with the time to the 201. Keeping the client out
// of the peer's process keeps its body building and socket writes off the peer's event loop and
// heap, which a browser never shares. Arguments: peer URL, username, password, file bytes.
import { MedichainClient } from '../../../protocol/client/client.ts'
import { largeDicom } from './dicom.ts'

const [url, username, password, bytes] = process.argv.slice(2)
const client = new MedichainClient({ baseUrl: url, vaultIterations: 1000 })
await client.signIn(username, password)
const file = largeDicom(Number(bytes))
/** A small DICOM first, untimed: the peer's decode and seal workers start on first use. */
const warmUp = largeDicom(1_000_000)

/** Messages from the benchmark: upload the large file (or the warm-up one), or stop. */
type Command = { type: 'upload', patientId: string, warmUp?: boolean } | { type: 'stop' }

process.on('message', (cmd: Command) => {
  if (cmd.type === 'stop') process.exit(0)
  // A fresh connection for each upload: a pooled one may have gone idle past the peer's keep-alive.
  void client.request('GET', '/api/health').then(async () => {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await client.upload(cmd.patientId, cmd.warmUp === true ? warmUp : file, 'large.dcm')
    const cpu = process.cpuUsage(c0)
    return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 }
  }).then(r => process.send?.({ ok: true, ...r, bytes: file.length }), (err: unknown) => process.send?.({ ok: false, error: String(err) }))
})
process.send?.({ ready: true, bytes: file.length })
