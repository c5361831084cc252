// Security headers on every response, errors included: no MIME sniffing, no referrer leaking a
// patient page's URL, no framing, and a same-origin content policy for the UI served later.
import type { Middleware } from 'koa'

/** Headers set on every response (OWASP secure headers project recommendations). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin'
}

/** Koa middleware that sets SECURITY_HEADERS before anything else runs. */
export function securityHeaders (): Middleware {
  return async (ctx, next) => {
    ctx.set({ ...SECURITY_HEADERS })
    await next()
  }
}
