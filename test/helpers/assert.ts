// Assertions on typed errors. Tests check an error's stable `code`, never its message, and uvu's
// assert.throws does not await promises, so async rejections need their own helper.
import * as assert from 'uvu/assert'

/** The `code` of a MedichainError-like value, or undefined when it has none. */
function codeOf (err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined
  return typeof err.code === 'string' ? err.code : undefined
}

function describe (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = codeOf(err)
  return `${err.name}${code !== undefined ? ` [${code}]` : ''}: ${err.message}`
}

function expectCode (err: unknown, code: string, what: string): void {
  const got = codeOf(err)
  if (got !== code) assert.unreachable(`${what}: expected an error with code ${code}, got ${describe(err)}`)
}

/** Asserts that `fn()` rejects (or throws) with an error whose `code` is `code`; returns the error. */
export async function rejects (fn: () => Promise<unknown>, code: string): Promise<unknown> {
  let result: unknown
  try {
    result = await fn()
  } catch (err) {
    expectCode(err, code, 'rejects')
    return err
  }
  assert.unreachable(`rejects: expected an error with code ${code}, but it resolved to ${String(result)}`)
  return undefined
}

/** Asserts that `fn()` throws synchronously with an error whose `code` is `code`; returns the error. */
export function throwsCode (fn: () => unknown, code: string): unknown {
  let result: unknown
  try {
    result = fn()
  } catch (err) {
    expectCode(err, code, 'throwsCode')
    return err
  }
  if (result instanceof Promise) {
    // Swallow it so a forgotten `await` shows as this failure, not an unhandled rejection.
    result.catch(() => {})
    assert.unreachable('throwsCode: the function returned a promise; use rejects() for async code')
  }
  assert.unreachable(`throwsCode: expected an error with code ${code}, but it returned ${String(result)}`)
  return undefined
}
