// The accessibility audit the browser tests run on each page (issue 5: labelled controls, keyboard
// navigation, visible focus, sufficient contrast, usable at 375 px). The functions marked "in the
// page" are sent to the page as source: web/src/lib/contrast.ts is bundled for them (esbuild) and
// its exports are in scope there, so they must use nothing else from this module's imports.
import { build } from 'esbuild'
import type { Page } from 'playwright-core'
import * as contrastLib from '../../web/src/lib/contrast.ts'
import {
  MIN_NON_TEXT, TRANSPARENT, WHITE, contrastRatio, fade, over, parseColor, requiredTextRatio, toHex
} from '../../web/src/lib/contrast.ts'
import type { Rgba } from '../../web/src/lib/contrast.ts'

/** Text whose contrast is below what WCAG 2.2 SC 1.4.3 asks. */
export interface TextProblem { text: string, where: string, fg: string, bg: string, ratio: number, required: number }

/** Text the audit cannot judge (a background image or gradient under it, or a colour it cannot read). */
export interface Unjudged { text: string, where: string, why: string }

/** What the contrast audit of one page found. */
export interface ContrastReport { checked: number, exempt: number, failures: TextProblem[], unjudged: Unjudged[] }

/** A control whose keyboard focus is not visible enough, or that Tab never reached. */
export interface FocusProblem { where: string, why: string }

/** What Tab-ing once around the page found. */
export interface FocusReport { stops: number, failures: FocusProblem[] }

/** One element's focus-ring styles. */
interface Ring { outlineStyle: string, outlineWidth: number, outlineColor: string, boxShadow: string }

/** The focus walk's state, kept in the page between Tab presses. */
interface FocusState { seen: Element[], pending: { el: Element, ring: Ring, behind: Rgba } | null, failures: FocusProblem[] }

// ── in the page ──────────────────────────────────────────────────────────────────────────────

/** The parent in the composed (flat) tree: the assigned slot, the parent, or a shadow root's host. */
function composedParent (el: Element): Element | null {
  const p = el.assignedSlot ?? el.parentElement
  if (p !== null) return p
  const node = el.parentNode
  return node instanceof ShadowRoot ? node.host : null
}

/** Where an element is, for reports: its custom-element hosts, then its tag, id and first class. */
function describe (el: Element): string {
  const hosts: string[] = []
  for (let e = composedParent(el); e !== null; e = composedParent(e)) if (e.localName.includes('-')) hosts.unshift(e.localName)
  const cls = el.classList.item(0)
  return [...hosts, `${el.localName}${el.id === '' ? '' : `#${el.id}`}${cls === null ? '' : `.${cls}`}`].join(' › ')
}

/** The document and every shadow root inside it. */
function roots (root: Document | ShadowRoot): Array<Document | ShadowRoot> {
  const out: Array<Document | ShadowRoot> = [root]
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot !== null) out.push(...roots(el.shadowRoot))
  return out
}

/** Every element matching `selector`, through shadow roots. */
function deepAll (selector: string): Element[] {
  return roots(document).flatMap(r => [...r.querySelectorAll(selector)])
}

/**
 * What `top`, painted inside `el`, finally looks like: composited source-over each background
 * from `el` up the composed tree, each `opacity` group applied in turn, onto the white canvas.
 * `image` names a background image or gradient that shows through (the colour cannot be judged).
 */
function paintedOver (el: Element | null, top: Rgba): { color: Rgba, image: string | null } {
  let c = top
  let image: string | null = null
  for (let e = el; e !== null; e = composedParent(e)) {
    const s = getComputedStyle(e)
    if (s.backgroundImage !== 'none' && c.a < 0.999 && image === null) image = `${describe(e)}: ${s.backgroundImage.slice(0, 60)}`
    const bg = parseColor(s.backgroundColor)
    if (bg === null && image === null) image = `${describe(e)}: background ${s.backgroundColor}`
    c = fade(over(c, bg ?? TRANSPARENT), Number.parseFloat(s.opacity))
  }
  return { color: over(c, WHITE), image }
}

/** Inside a disabled control: WCAG 2.2 SC 1.4.3 exempts "part of an inactive user interface component". */
function inactive (el: Element): boolean {
  for (let e: Element | null = el; e !== null; e = composedParent(e)) {
    if (e.matches(':disabled') || e.getAttribute('aria-disabled') === 'true') return true
  }
  return false
}

/** Whether text (or an element) is rendered where a person can see it. */
function shown (el: Element, node: Node = el): boolean {
  if (!el.checkVisibility({ checkVisibilityCSS: true })) return false
  const range = document.createRange()
  range.selectNodeContents(node)
  const r = node === el ? el.getBoundingClientRect() : range.getBoundingClientRect()
  // Off the page to the left or top: the skip link until it is focused.
  if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= 0) return false
  for (let e: Element | null = el; e !== null; e = composedParent(e)) {
    const s = getComputedStyle(e)
    if (s.overflow === 'visible' && s.clip === 'auto') continue
    const b = e.getBoundingClientRect()
    // Clipped to a pixel: the visually-hidden pattern, there for screen readers only.
    if (b.width <= 1 || b.height <= 1) return false
  }
  return true
}

/** The contrast of `el`'s text (or its `pseudo` element's), or why it cannot be judged. */
function judgeText (el: Element, text: string, pseudo?: string): TextProblem | Unjudged | null {
  const s = getComputedStyle(el, pseudo)
  // SVG text is painted with `fill`; its size scales with the drawing.
  const svg = el instanceof SVGGraphicsElement ? el : null
  const paint = svg === null ? s.color : s.fill
  const fg = parseColor(paint)
  const where = describe(el) + (pseudo ?? '')
  if (fg === null) return { text, where, why: `text colour ${paint}` }
  const front = paintedOver(el, fg)
  const back = paintedOver(el, TRANSPARENT)
  const image = front.image ?? back.image
  if (image !== null) return { text, where, why: image }
  const ctm = svg?.getScreenCTM()
  const size = Number.parseFloat(s.fontSize) * (ctm === null || ctm === undefined ? 1 : Math.hypot(ctm.a, ctm.b))
  const required = requiredTextRatio(size, Number.parseFloat(s.fontWeight))
  const ratio = contrastRatio(front.color, back.color)
  if (ratio >= required) return null
  return { text, where, fg: toHex(front.color), bg: toHex(back.color), ratio: Math.round(ratio * 100) / 100, required }
}

/** Audits every visible text node and the text in form fields (values and placeholders). */
function auditText (): ContrastReport {
  const report: ContrastReport = { checked: 0, exempt: 0, failures: [], unjudged: [] }
  const judge = (el: Element, text: string, pseudo?: string): void => {
    if (inactive(el)) { report.exempt++; return }
    report.checked++
    const r = judgeText(el, text.trim().slice(0, 40), pseudo)
    if (r !== null && 'why' in r) report.unjudged.push(r)
    if (r === null || 'why' in r) return
    // Lit renders one element's text in several nodes: report the element once.
    const same = report.failures.find(f => f.where === r.where && f.fg === r.fg && f.bg === r.bg)
    if (same === undefined) report.failures.push(r)
    else if (same.text.length < 40) same.text = `${same.text} ${r.text}`.slice(0, 40)
  }
  const skip = new Set(['script', 'style', 'noscript', 'template', 'option', 'select', 'textarea', 'title'])
  for (const root of roots(document)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
      const text = n.textContent ?? ''
      const parent = n.parentNode
      const el = n.parentElement ?? (parent instanceof ShadowRoot ? parent.host : null)
      if (text.trim() === '' || el === null || skip.has(el.localName) || !shown(el, n)) continue
      judge(el, text)
    }
  }
  const fields = 'input:not([type]), input[type=text], input[type=password], input[type=number], input[type=search], input[type=email], input[type=date], select, textarea'
  for (const el of deepAll(fields)) {
    if (!shown(el)) continue
    const field = el as HTMLInputElement
    if (field.value !== '') judge(el, field.value)
    else if (field.placeholder !== undefined && field.placeholder !== '') judge(el, field.placeholder, '::placeholder')
  }
  return report
}

/** Colours named in a computed `box-shadow` (or any value). */
function colorsIn (value: string): Rgba[] {
  return (value.match(/(?:rgba?|oklch|oklab|color)\([^()]*\)|#[0-9a-f]{3,8}\b/gi) ?? []).flatMap(t => parseColor(t) ?? [])
}

/** The innermost focused element, through shadow roots. */
function deepActive (): Element | null {
  let el = document.activeElement
  while (el?.shadowRoot?.activeElement != null) el = el.shadowRoot.activeElement
  return el
}

function ringOf (el: Element): Ring {
  const s = getComputedStyle(el)
  return { outlineStyle: s.outlineStyle, outlineWidth: Number.parseFloat(s.outlineWidth), outlineColor: s.outlineColor, boxShadow: s.boxShadow }
}

/**
 * Judges one control's focus indicator: it must differ from the unfocused look (an outline or a
 * box-shadow appears) and have a part with 3:1 against what surrounds the control (WCAG 2.2
 * SC 1.4.11 and SC 2.4.13's "contrast between focused and unfocused states").
 */
function judgeFocus (el: Element, focused: Ring, blurred: Ring, behind: Rgba): FocusProblem | null {
  const outline = focused.outlineStyle !== 'none' && focused.outlineWidth >= 1 ? parseColor(focused.outlineColor) : null
  const outlineNew = outline !== null && (blurred.outlineStyle === 'none' || blurred.outlineWidth < 1 || blurred.outlineColor !== focused.outlineColor)
  const shadowNew = focused.boxShadow !== blurred.boxShadow && focused.boxShadow !== 'none'
  if (!outlineNew && !shadowNew) return { where: describe(el), why: 'no outline or box-shadow appears on focus' }
  const parts = [...(outlineNew && outline !== null ? [outline] : []), ...(shadowNew ? colorsIn(focused.boxShadow) : [])]
  const best = Math.max(0, ...parts.map(c => contrastRatio(over(c, behind), behind)))
  if (best >= MIN_NON_TEXT) return null
  return { where: describe(el), why: `focus indicator ${parts.map(toHex).join(', ')} has ${best.toFixed(2)}:1 on ${toHex(behind)} (needs ${MIN_NON_TEXT}:1)` }
}

/** Called after each Tab: judges the control that lost focus, notes the one that has it. `true` once round. */
function focusStep (): boolean {
  const g = globalThis as unknown as { mcFocus?: FocusState }
  const state = g.mcFocus ??= { seen: [], pending: null, failures: [] }
  const el = deepActive()
  const p = state.pending
  if (p !== null && p.el !== el) {
    const problem = judgeFocus(p.el, p.ring, ringOf(p.el), p.behind)
    if (problem !== null) state.failures.push(problem)
    state.pending = null
  }
  if (el === null || el === document.body || el === p?.el) return false
  if (el === state.seen[0]) return true
  if (!state.seen.includes(el)) state.seen.push(el)
  state.pending = { el, ring: ringOf(el), behind: paintedOver(composedParent(el), TRANSPARENT).color }
  return false
}

/** Ends the focus walk: its failures, plus visible tabbable controls that Tab never reached. */
function focusEnd (): FocusReport {
  const g = globalThis as unknown as { mcFocus?: FocusState }
  const state = g.mcFocus ?? { seen: [], pending: null, failures: [] }
  g.mcFocus = undefined
  const radioGroups = new Set(state.seen.flatMap(e => e instanceof HTMLInputElement && e.type === 'radio' ? [e.name] : []))
  const unreached = deepAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]').filter(el => {
    const h = el as HTMLElement
    if (h.tabIndex < 0 || el.matches(':disabled') || !shown(el) || state.seen.includes(el)) return false
    return !(el instanceof HTMLInputElement && el.type === 'radio' && radioGroups.has(el.name))
  })
  return { stops: state.seen.length, failures: [...state.failures, ...unreached.map(el => ({ where: describe(el), why: 'Tab never reached it' }))] }
}

/** A control's accessible name from aria-labelledby, aria-label, its labels or its own text (ARIA AccName 1.2, simplified). */
function accessibleName (el: Element): string {
  const root = el.getRootNode() as Document | ShadowRoot
  const by = el.getAttribute('aria-labelledby')
  if (by !== null) return by.split(/\s+/).map(id => root.getElementById(id)?.textContent ?? '').join(' ').trim()
  const aria = el.getAttribute('aria-label')?.trim() ?? ''
  if (aria !== '') return aria
  const labels = 'labels' in el ? (el as HTMLInputElement).labels : null
  const labelled = [...(labels ?? [])].map(l => l.textContent ?? '').join(' ').trim()
  if (labelled !== '') return labelled
  if (el instanceof HTMLInputElement) return ['submit', 'button', 'reset'].includes(el.type) ? el.value.trim() : ''
  return el.matches('button, a, summary') ? (el.textContent ?? '').trim() : ''
}

/** Visible controls, links and focusable elements without an accessible name. */
function unnamedControls (): string[] {
  return deepAll('input:not([type=hidden]), select, textarea, button, a[href], summary, [tabindex]:not([tabindex="-1"])')
    .filter(el => shown(el) && accessibleName(el) === '').map(describe)
}

/** Text fields whose boundary (border or face) has less than 3:1 against what surrounds them (SC 1.4.11). */
function fieldBoundaries (): FocusProblem[] {
  const out: FocusProblem[] = []
  for (const el of deepAll('input:not([type]), input[type=text], input[type=password], input[type=number], input[type=search], input[type=date], select, textarea')) {
    if (!shown(el)) continue
    const s = getComputedStyle(el)
    const behind = paintedOver(composedParent(el), TRANSPARENT).color
    const border = s.borderTopStyle !== 'none' && Number.parseFloat(s.borderTopWidth) >= 1 ? parseColor(s.borderTopColor) : null
    const face = paintedOver(el, TRANSPARENT).color
    const best = Math.max(contrastRatio(face, behind), border === null ? 0 : contrastRatio(over(border, behind), behind))
    if (best < MIN_NON_TEXT) out.push({ where: describe(el), why: `boundary ${best.toFixed(2)}:1 on ${toHex(behind)} (needs ${MIN_NON_TEXT}:1)` })
  }
  return out
}

/** The page's width beyond the viewport, with the elements that stick out furthest; null when it fits. */
function horizontalOverflow (): { scrollWidth: number, clientWidth: number, widest: string[] } | null {
  const { scrollWidth, clientWidth } = document.documentElement
  if (scrollWidth <= clientWidth) return null
  // Content that sticks out inside a scroller (a wide table in its .table-wrap) is not the cause,
  // unless it is positioned out of it: an absolute box escapes scrollers up to its containing block.
  const clipped = (el: Element): boolean => {
    let escapes = ['absolute', 'fixed'].includes(getComputedStyle(el).position)
    for (let e = composedParent(el); e !== null && e !== document.body; e = composedParent(e)) {
      const s = getComputedStyle(e)
      if (s.overflowX !== 'visible' && (!escapes || s.position !== 'static')) return true
      if (s.position !== 'static') escapes = ['absolute', 'fixed'].includes(s.position)
    }
    return false
  }
  const widest = deepAll('*').map(el => ({ el, right: el.getBoundingClientRect().right })).filter(x => x.right > clientWidth + 0.5 && !clipped(x.el))
    .sort((a, b) => b.right - a.right).slice(0, 5).map(x => `${describe(x.el)} (${Math.round(x.right)} px)`)
  return { scrollWidth, clientWidth, widest }
}

// ── in Node ──────────────────────────────────────────────────────────────────────────────────

/** The page-side API, as installed on `globalThis.mcA11y`. */
const PAGE_API = { auditText, focusStep, focusEnd, unnamedControls, fieldBoundaries, horizontalOverflow }
const PAGE_HELPERS = [composedParent, describe, roots, deepAll, paintedOver, inactive, shown, judgeText, colorsIn, deepActive, ringOf, judgeFocus, accessibleName]
type PageApi = typeof PAGE_API

let script: Promise<string> | undefined

/** The page script: contrast.ts bundled as an IIFE, its exports in scope, then the page functions. */
async function pageScript (): Promise<string> {
  script ??= build({
    entryPoints: [new URL('../../web/src/lib/contrast.ts', import.meta.url).pathname],
    bundle: true, format: 'iife', globalName: 'mcContrast', write: false, target: 'chrome120'
  }).then(r => {
    const fns = [...PAGE_HELPERS, ...Object.values(PAGE_API)].map(String).join('\n')
    return `(() => { ${r.outputFiles[0].text}; const { ${Object.keys(contrastLib).join(', ')} } = mcContrast;\n${fns}\n` +
      `globalThis.mcA11y = { ${Object.keys(PAGE_API).join(', ')} } })()`
  })
  return await script
}

/** Installs the page-side audit in the page's current document, unless it is there already. */
async function install (page: Page): Promise<void> {
  if (!await page.evaluate(() => 'mcA11y' in globalThis)) await page.evaluate(await pageScript())
}

/** Calls one function of the installed page-side audit. */
async function call<K extends keyof PageApi> (page: Page, name: K): Promise<ReturnType<PageApi[K]>> {
  return await page.evaluate(`globalThis.mcA11y.${name}()`) as ReturnType<PageApi[K]>
}

/** WCAG 2.2 SC 1.4.3 contrast of every visible text on the page. */
export async function auditContrast (page: Page): Promise<ContrastReport> {
  await install(page)
  return await call(page, 'auditText')
}

/** Tabs once around the page (at most `max` presses), judging each control's focus indicator. */
export async function auditFocus (page: Page, max = 150): Promise<FocusReport> {
  await install(page)
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    if (await call(page, 'focusStep')) break
  }
  return await call(page, 'focusEnd')
}

/** Controls without an accessible name. */
export async function unnamed (page: Page): Promise<string[]> {
  await install(page)
  return await call(page, 'unnamedControls')
}

/** Text fields without a 3:1 boundary. */
export async function weakBoundaries (page: Page): Promise<FocusProblem[]> {
  await install(page)
  return await call(page, 'fieldBoundaries')
}

/** How the page overflows its viewport sideways, or null when it fits. */
export async function overflow (page: Page): Promise<ReturnType<PageApi['horizontalOverflow']>> {
  await install(page)
  return await call(page, 'horizontalOverflow')
}
