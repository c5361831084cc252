// The peer's structured logger: pino writing one JSON object per line. Every service gets a
// child logger with a `component` field; nothing in node/ calls console. Fields that could carry
// secrets are redacted as a second line of defence: code must not log keys, PHI or pixels at all.
import { pino } from 'pino'
import type { DestinationStream, Logger } from 'pino'

/** Levels accepted in config, env and flags (pino's own names). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** Field paths that are censored if they ever reach a log line (seeds, private keys, tokens). */
export const REDACTED_PATHS = [
  'seed', 'privateKey', 'secret', 'password', 'token', 'authorization',
  '*.seed', '*.privateKey', '*.secret', '*.password', '*.token', '*.authorization',
  'req.headers.authorization', 'req.headers.cookie'
]

/** Options of createLogger. */
export interface LoggerInit {
  /** Minimum level written; defaults to `info`. */
  level?: LogLevel
  /** Writes nothing at all (tests). Same as level `silent`. */
  silent?: boolean
  /** File path, file descriptor or stream; defaults to stdout (fd 1). */
  destination?: string | number | DestinationStream
  /** Value of the `name` field on every line. */
  name?: string
}

function isStream (d: LoggerInit['destination']): d is DestinationStream {
  return typeof d === 'object' && d !== null && typeof d.write === 'function'
}

/** Creates the root logger. Writes synchronously so nothing is lost at exit or on a crash. */
export function createLogger (init: LoggerInit = {}): Logger {
  const level: LogLevel = init.silent === true ? 'silent' : (init.level ?? 'info')
  const options = {
    level,
    name: init.name ?? 'medichain',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid }
  }
  const d = init.destination
  if (isStream(d)) return pino(options, d)
  const dest = d === undefined ? 1 : d
  return pino(options, pino.destination({ dest, sync: true, mkdir: typeof dest === 'string' }))
}

export type { Logger }
