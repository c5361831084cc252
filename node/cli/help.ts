// Usage texts of every command, kept apart from the commands so `--help` and usage errors answer
// without loading libp2p or level (the dispatcher imports a command only when it runs).

/** Top-level help text. */
export const MAIN_HELP = `Usage: medichain <command> [options]

Medichain: peer-to-peer sharing of encrypted medical images between hospitals, with a
permissioned hash-chain ledger.

Commands:
  init            create this hospital's key (prints its public key and PeerId)
  genesis         build a consortium genesis from the founding hospitals' keys and addresses
  start           run this hospital's peer (ledger, p2p, HTTP API)
  ledger verify   re-check a data folder end to end
  ledger show     print heads, members and a block summary
  fl start        start a federated-learning task on a running peer
  fl continue     continue an interrupted or stopped federated-learning task
  fl models       list published models: deployed here, or available with the reason
  fl pin          deploy a published model here and hold it (fl unpin lifts it)
  fl rollback     go back to the model deployed here before the current one
  admin setup-link  print a new one-time admin setup link from the running peer

Run \`medichain <command> --help\` for a command's options. See README.md and docs/ops.md.
`

/** Help text of `medichain init`. */
export const INIT_HELP = `Usage: medichain init [--data DIR] [--config FILE] [--name NAME]

Creates the hospital key <data>/hospital.key: an Ed25519 private key in PKCS#8 PEM, mode 0600.
The same key is the hospital's libp2p PeerId and its ledger signing key. Prints the public key
and the PeerId, which the consortium needs to build the genesis. Refuses to overwrite a key.
With --name, also records the hospital's display name in <data>/config.json.

Options:
  --data DIR       data folder (default ./data; env MEDICHAIN_DATA)
  --name NAME      the hospital's name, as patients and clinicians will read it
  --config FILE    config file (default <data>/config.json when present)
  -h, --help       show this help
`

/** Help text of `medichain genesis`. */
export const GENESIS_HELP = `Usage: medichain genesis --name NAME (--member SPEC ... | --from-data DIR,DIR,...)
                         [--quorum majority|two-thirds|all] [--created MS] [--out FILE] [--force]

Builds the consortium genesis document (JSON) from the founding hospitals' public keys and p2p
addresses. Its SHA-256 is the ledger id: every founding hospital must start from the same file.

Options:
  --name NAME          consortium name
  --member SPEC        a founding hospital, repeatable:
                       name=NAME,key=HEX64,addr=MULTIADDR[,addr=MULTIADDR...]
  --from-data DIRS     comma-separated data folders: each one's hospital.key, config name and
                       p2p addresses (config p2p.announce, else p2p.listen)
  --quorum RULE        approvals needed to admit or remove a member (default majority)
  --created MS         creation time, ms since the epoch (default now)
  --out FILE           write the document here (default: print it)
  --force              replace FILE if it exists
  -h, --help           show this help

Example:
  medichain genesis --name "North consortium" \\
    --member name=St-Anne,key=<hex>,addr=/ip4/10.0.0.1/tcp/4001 \\
    --member name=General,key=<hex>,addr=/ip4/10.0.0.2/tcp/4001 --out genesis.json
`

/** Help text of `medichain start`. */
export const START_HELP = `Usage: medichain start [options]

Runs this hospital's peer: the ledger, the libp2p host and the HTTP API, until Ctrl-C (SIGINT)
or SIGTERM, then shuts down in order (HTTP, p2p, ledger). On the first run, with no key and no
genesis in the data folder, creates the key and a one-member genesis for this hospital.

Options:
  --data DIR          data folder (default ./data; env MEDICHAIN_DATA)
  --config FILE       config file (default <data>/config.json when present; env MEDICHAIN_CONFIG)
  --http-host HOST    HTTP listen address (default 127.0.0.1; env MEDICHAIN_HTTP_HOST)
  --http-port PORT    HTTP port (default 8080; env MEDICHAIN_HTTP_PORT)
  --p2p-port PORT     libp2p TCP port (default 4001; env MEDICHAIN_P2P_PORT)
  --dicom-port PORT   DICOM (DIMSE) port, AE title MEDICHAIN (default 11112; 0 picks a free one)
  --genesis FILE      genesis document (default <data>/genesis.json; env MEDICHAIN_GENESIS)
  --peer MULTIADDR    extra peer to dial, repeatable (env MEDICHAIN_PEERS, comma-separated)
  --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info)
  --fresh-chain       start this hospital's chain afresh instead of learning it from the members;
                      refused (CHAIN_EXISTS) when this folder or a member holds a block of it
  -h, --help          show this help

A new or rebuilt ledger folder writes nothing until a member has told this peer how much of
its own chain the consortium holds (writes answer 503 SYNCING meanwhile). See docs/ops.md.

Precedence: defaults < config file < environment < flags. See docs/ops.md.
`

/** Help text of `medichain ledger`. */
export const LEDGER_HELP = `Usage: medichain ledger <verify|show> [options]

Commands:
  verify    re-check the data folder end to end: every signature, hash link, index and the state root
  show      print heads, members and a summary of blocks (no transaction bodies)

Run \`medichain ledger <command> --help\` for its options. Stop the peer first: the ledger
database accepts one process at a time.
`

/** Help text of `medichain ledger verify`. */
export const LEDGER_VERIFY_HELP = `Usage: medichain ledger verify [--data DIR] [--config FILE] [--genesis FILE]

Re-checks the ledger in <data>/ledger against the genesis: every block and transaction signature,
every hash link, every index and the state root. Exits 0 when all is well, 1 with the problems
listed otherwise.

Options:
  --data DIR          data folder (default ./data; env MEDICHAIN_DATA)
  --config FILE       config file (default <data>/config.json when present)
  --genesis FILE      genesis document (default <data>/genesis.json)
  --log-level LEVEL   log level of the log lines on stderr (default warn)
  -h, --help          show this help
`

/** Help text of `medichain ledger show`. */
export const LEDGER_SHOW_HELP = `Usage: medichain ledger show [--data DIR] [--author HEX] [--from N] [--limit N] [--json]

Prints the ledger id, state root, members, chain heads and a summary of blocks: height, hash,
time and transaction types. Without --author, shows the blocks of every chain.

Options:
  --data DIR          data folder (default ./data; env MEDICHAIN_DATA)
  --config FILE       config file (default <data>/config.json when present)
  --genesis FILE      genesis document (default <data>/genesis.json)
  --author HEX        only this member's chain (64 hex digits)
  --from N            first height to show (default 0)
  --limit N           blocks per chain, at most 500 (default 20)
  --json              print JSON in the HTTP API's format instead of text
  --log-level LEVEL   log level of the log lines on stderr (default warn)
  -h, --help          show this help
`

export const FL_HELP = `Usage: medichain fl <start|continue|models|pin|unpin|rollback> [options]

Federated learning (docs/design.md §6). Commands:
  start      start a task on a running peer, which coordinates it
  continue   continue an interrupted or stopped task of that peer as a new task
  models     list published models: deployed here, or available but not deployed, with the reason
  pin        deploy a published model here and hold it against newer ones
  unpin      lift the pin: the newest model it held back is checked and deployed if it passes
  rollback   deploy the model deployed before the current one, pinned

Run \`medichain fl start --help\`, \`medichain fl continue --help\` or \`medichain fl models --help\` for their options.
`

export const FL_MODELS_HELP = `Usage: medichain fl <models|pin|unpin|rollback> --username NAME --password-file FILE [options]

A hospital deploys a published model only once it fetched it, its weights pass the format checks
and it does no worse than the deployed model on the hospital's own held-out labelled images;
otherwise the model is available, not deployed, with the reason. An admin can override: pin a
model (it stays deployed until unpinned), or roll back to the model deployed before. Pins and
roll-backs survive a restart.

Options:
  --url URL                 the peer's HTTP address (default http://127.0.0.1:8080)
  --username NAME           an admin account of that peer
  --password-file FILE      file holding the admin's password (kept out of argv and history)
  --model CID               the model to pin (fl pin only; as listed by fl models)
  --json                    print the deployment as the HTTP API returns it
  -h, --help                show this help
`

export const FL_CONTINUE_HELP = `Usage: medichain fl continue --id TASK --username NAME --password-file FILE [--url URL]

Continues a task this peer coordinated that was interrupted (the peer stopped or crashed) or
stopped by an admin: the peer starts a new task with the same settings from the model the old
task's last round started with, at that round's number, so the learning-rate schedule goes on.
That last round is trained again.

Options:
  --url URL                 the peer's HTTP address (default http://127.0.0.1:8080)
  --username NAME           an admin account of that peer
  --password-file FILE      file holding the admin's password (kept out of argv and history)
  --id TASK                 the task to continue (as listed at /api/fl/tasks)
  -h, --help                show this help
`

export const FL_START_HELP = `Usage: medichain fl start --username NAME --password-file FILE [options]

Signs in to a running peer as an admin and starts a federated-learning task that this peer
coordinates. Only weights travel between hospitals; each trains on images whose patients gave a
live training consent. Follow the task in the admin console or at /api/fl/tasks/<id>.

Options:
  --url URL                 the peer's HTTP address (default http://127.0.0.1:8080)
  --username NAME           an admin account of that peer
  --password-file FILE      file holding the admin's password (kept out of argv and history)
  --task NAME               task name (default detect-strange)
  --rounds N                rounds at most (the peer stops early when validation stops improving)
  --epochs N                local epochs per round
  --min-participants N      hospitals needed for a round to count
  --aggregation KIND        fedavg (default), trimmed-mean (robust to a bad hospital), or secure
                            (the coordinator sees only the sum of the updates; docs/design.md §6)
  --clip C                  clip each update to L2 norm C (secure aggregation needs it)
  -h, --help                show this help
`

/** Help text of `medichain admin`. */
export const ADMIN_HELP = `Usage: medichain admin setup-link [--data DIR] [--config FILE] [--url URL]

Asks the running peer for a new one-time admin setup link and prints it. The request is signed
with the hospital key in the data folder, so only someone who can read that key can ask. Use it
when the link printed at first start was lost or used, or when no admin can sign in any more.
The new link replaces any earlier unused one.

Options:
  --data DIR       data folder (default ./data; env MEDICHAIN_DATA)
  --config FILE    config file (default <data>/config.json when present)
  --url URL        the peer's HTTP address (default from the config: http://127.0.0.1:8080)
  -h, --help       show this help
`
