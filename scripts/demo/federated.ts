// The federated-learning chapter of `npm run demo`, through the real client SDK: at every
// hospital a clinician uploads synthetic phantoms for a small cohort and labels each with its
// ground-truth mask, the patients grant their hospital a `training` consent (one patient
// declines), A's admin starts a task, the hospitals train on their own consented images, and the
// published model is hot-loaded everywhere and analyses the next upload.
import { MedichainClient } from '../../protocol/client/client.ts'
import type { LabelUse } from '../../protocol/client/client.ts'
import { toHex } from '../../protocol/bytes.ts'
import type { Peer } from '../../node/peer.ts'
import { encodePng, toUint8 } from '../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../synth/phantom.ts'

/** Phantoms per patient, patients per hospital. */
const IMAGES = 4
const PATIENTS = 2

/** A quick task: a small model and a few rounds, so the demo shows a published model in about half a minute. */
const TASK = {
  task: 'detect-strange', model: { inputSize: 64, base: 8, depth: 2 }, rounds: 6, epochs: 4, learningRate: 0.003, minParticipants: 3, patience: 6, roundTimeoutMs: 120_000,
  // Secure aggregation: the coordinator learns only the sum of the clipped, masked updates.
  aggregation: 'secure', clip: 100
}

/** How long the demo waits for the task before reporting what it has. */
const TASK_TIMEOUT_MS = 10 * 60_000

function png (pixels: Float32Array | Uint8Array, size: number): Uint8Array {
  return encodePng(pixels instanceof Float32Array ? toUint8(pixels) : pixels, size, size)
}

/** Runs the chapter; `accounts` makes a signed-in client for a new user at a peer. */
export async function runFederatedStory (input: {
  peers: Peer[]
  names: string[]
  admins: MedichainClient[]
  signUp: (peer: Peer, username: string, role: 'patient' | 'clinician', approver?: MedichainClient) => Promise<MedichainClient>
  say: (line: string) => void
}): Promise<void> {
  const { peers, names, admins, say } = input
  const doctors: MedichainClient[] = []
  for (const [h, peer] of peers.entries()) {
    const doc = await input.signUp(peer, `radiologist-${String.fromCharCode(97 + h)}`, 'clinician', admins[h])
    doctors.push(doc)
    let declined = 0
    for (let p = 0; p < PATIENTS; p++) {
      const patient = await input.signUp(peer, `cohort-${String.fromCharCode(97 + h)}${p + 1}`, 'patient')
      for (let i = 0; i < IMAGES; i++) {
        // Hospitals differ (non-IID): lesion rate, contrast and scanner gain vary by site.
        const ph = generatePhantom(1000 * (h + 1) + 10 * p + i, { size: 256, lesionRate: 0.5 + 0.15 * h, contrast: 1 + 0.2 * h, gain: 1 - 0.1 * h })
        const up = await doc.upload(patient.user?.patientId as string, png(ph.pixels, 256), `phantom-${i}.png`)
        // A's first two images of each patient are held out: the coordinator validates every round on it.
        const use: LabelUse = h === 0 && i < 2 ? 'validation' : 'train'
        await doc.putLabel(String(up.raw), png(Uint8Array.from(ph.mask, v => v * 255), 256), use)
      }
      if (h === 1 && p === PATIENTS - 1) {
        declined++
        continue
      }
      await patient.grant({ grantee: toHex(peer.ledger.self), kind: 'hospital', purpose: 'training', expires: Date.now() + 30 * 86_400_000 })
    }
    const summary = await admins[h].labelSummary()
    say(`${names[h]}: ${summary.labelled.train + summary.labelled.validation} labelled images; training may use ${summary.eligible.train.kept}` +
      `${declined > 0 ? ` (${summary.eligible.train.excluded} excluded: a patient gave no training consent)` : ''}`)
  }

  const loaded = peers.map(async p => await new Promise<void>(resolve => p.federation.addEventListener('model:loaded', () => resolve(), { once: true })))
  const res = await admins[0].request('POST', '/api/fl/tasks', TASK)
  const { id } = await res.json() as { id: string }
  say(`admin-a started federated task ${id}: ${TASK.rounds} rounds, FedAvg with secure aggregation (each update clipped to norm ${TASK.clip} and masked; the coordinator sees only the sum)`)
  const rounds = (e: Event): void => {
    const r = (e as CustomEvent<{ round: number, participants: unknown[], validation: { loss: number, dice: number } | null }>).detail
    say(`  round ${r.round}: ${r.participants.length} hospitals, validation loss ${r.validation?.loss.toFixed(4) ?? '–'}, Dice ${r.validation?.dice.toFixed(3) ?? '–'}`)
  }
  peers[0].federation.addEventListener('round:ended', rounds)
  const timeout = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), TASK_TIMEOUT_MS).unref())
  const view = await Promise.race([peers[0].federation.settled(id), timeout])
  peers[0].federation.removeEventListener('round:ended', rounds)
  if (view === 'timeout' || view.published === null) {
    say(`the task did not publish a model (${view === 'timeout' ? 'timed out' : view.status}); see /api/fl/tasks/${id}`)
    return
  }
  await Promise.all(loaded)
  say(`model ${view.published.model} published on the ledger (model.publish) and hot-loaded by all three hospitals`)
  say('  (a dozen images and a few rounds show the mechanics, not a useful model: quality needs the data of `npm run bench:ai`)')
  const newcomer = await input.signUp(peers[0], 'patient-2', 'patient')
  const fresh = generatePhantom(77, { size: 256, lesionCount: 2 })
  const up = await doctors[0].upload(newcomer.user?.patientId as string, png(fresh.pixels, 256), 'new-scan.png')
  say(`a new upload at ${names[0]} is analysed by the federated model: score ${String(up.score)}, model ${String(up.model).slice(0, 20)}…`)
}
