// Which address a request comes from. The socket's peer is the client unless it is one of the
// configured reverse proxies (`http.trustProxy`); only then is X-Forwarded-For read, right to left,
// skipping further trusted proxies, so a client cannot pick its own address by sending the header.
import { BlockList, isIP } from 'node:net'
import type { Middleware } from 'koa'

/**
 * Addresses of trusted proxies: IPv4 or IPv6 addresses, or CIDR subnets (`10.0.0.0/8`). An
 * IPv4-mapped IPv6 socket address (`::ffff:10.0.0.1`) matches its IPv4 entry.
 */
export class TrustedProxies {
  readonly #list = new BlockList()
  readonly size: number

  constructor (entries: readonly string[]) {
    for (const e of entries) {
      const parsed = parseProxyEntry(e)
      if (parsed === undefined) throw new TypeError(`not an IP address or CIDR subnet: ${JSON.stringify(e)}`)
      if (parsed.prefix === undefined) this.#list.addAddress(parsed.address, parsed.family)
      else this.#list.addSubnet(parsed.address, parsed.prefix, parsed.family)
    }
    this.size = entries.length
  }

  /** True when `address` (as the socket or a header gives it) is a trusted proxy. */
  has (address: string): boolean {
    if (this.size === 0) return false
    const plain = unmapped(address)
    const family = isIP(plain)
    if (family === 0) return false
    return this.#list.check(plain, family === 4 ? 'ipv4' : 'ipv6')
  }
}

/** An address or subnet of `http.trustProxy`, or undefined when it is neither. */
export function parseProxyEntry (entry: string): { address: string, family: 'ipv4' | 'ipv6', prefix?: number } | undefined {
  const [address, prefixText, extra] = entry.trim().split('/')
  if (extra !== undefined) return undefined
  const family = isIP(address)
  if (family === 0) return undefined
  const fam = family === 4 ? 'ipv4' : 'ipv6'
  if (prefixText === undefined) return { address, family: fam }
  const max = family === 4 ? 32 : 128
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined
  return { address, family: fam, prefix: Number(prefixText) }
}

/** `::ffff:a.b.c.d` as `a.b.c.d`; anything else as it is. */
function unmapped (address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  return m === null ? address : m[1]
}

/**
 * The client's address: `remote` unless it is a trusted proxy, else the right-most address of
 * `forwardedFor` that is not a trusted proxy (RFC 7239 §5.2's chain order; entries left of it were
 * written by the client and prove nothing). A malformed entry stops the walk at the last good hop.
 */
export function clientAddress (remote: string, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  if (!trusted.has(remote) || forwardedFor === undefined) return remote
  let client = remote
  const hops = forwardedFor.split(',').map(s => s.trim()).filter(s => s.length > 0)
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = unmapped(hops[i])
    if (isIP(hop) === 0) break
    client = hop
    if (!trusted.has(hop)) break
  }
  return client
}

/** Sets `ctx.ip` to the client's address as `clientAddress` finds it (koa's own `proxy` trusts any sender). */
export function clientIp (trusted: TrustedProxies): Middleware {
  return async (ctx, next) => {
    const remote = ctx.req.socket.remoteAddress ?? ''
    const header = ctx.get('X-Forwarded-For')
    ctx.request.ip = clientAddress(remote, header === '' ? undefined : header, trusted)
    await next()
  }
}
