// Styles every element adopts: type scale, form controls, buttons, tables, notes and a focus ring
// that is always visible to keyboard users. Colours meet WCAG 2.2 AA contrast (4.5:1 for text)
// on white: ink #1b1f24 (16:1), primary #0b5cad (6.6:1), danger #a4000f (8.3:1), muted #4a5560 (7.5:1).
import { css } from 'lit'

/** Shared element styles (adopted through each element's static styles). */
export const shared = css`
  :host { display: block; color: #1b1f24; font: 16px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
  * { box-sizing: border-box; }
  h1 { font-size: 1.5rem; margin: 0 0 0.75rem; }
  h2 { font-size: 1.2rem; margin: 1.25rem 0 0.5rem; }
  h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
  p { margin: 0.4rem 0; }
  a { color: #0b5cad; }
  label { display: block; font-weight: 600; margin: 0.6rem 0 0.2rem; }
  input, select, textarea {
    font: inherit; padding: 0.45rem 0.6rem; border: 1px solid #5f6b76; border-radius: 6px;
    width: 100%; max-width: 32rem; background: #fff; color: inherit;
  }
  input[type=checkbox], input[type=radio], input[type=range] { width: auto; }
  button, .button {
    font: inherit; font-weight: 600; padding: 0.5rem 1rem; border-radius: 6px; cursor: pointer;
    border: 1px solid #0b5cad; background: #0b5cad; color: #fff; text-decoration: none; display: inline-block;
    min-height: 44px;
  }
  button.secondary { background: #fff; color: #0b5cad; }
  button.danger { background: #a4000f; border-color: #a4000f; }
  button:disabled { opacity: 0.6; cursor: not-allowed; }
  :focus-visible { outline: 3px solid #f0a800; outline-offset: 2px; box-shadow: 0 0 0 5px #1b1f24; }
  .row { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; }
  .muted { color: #4a5560; font-size: 0.9rem; }
  .mono { font-family: ui-monospace, 'SFMono-Regular', Menlo, monospace; font-size: 0.85rem; word-break: break-all; }
  .card { border: 1px solid #c9d1d9; border-radius: 8px; padding: 1rem; margin: 0.75rem 0; background: #fff; }
  .note { border-left: 4px solid #0b5cad; background: #eef5fc; padding: 0.6rem 0.8rem; margin: 0.75rem 0; }
  .warn { border-left: 4px solid #8a5a00; background: #fff6e0; padding: 0.6rem 0.8rem; margin: 0.75rem 0; }
  .ok { color: #0a6b2d; font-weight: 600; }
  .bad { color: #a4000f; font-weight: 600; }
  .field-error { color: #a4000f; font-size: 0.9rem; margin: 0.2rem 0 0; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; }
  dl.facts dt { color: #4a5560; }
  dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
  @media (max-width: 480px) { dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: 0.4rem; } }
  /* Positioned, so visually hidden cells (position: absolute) stay inside the scroller, not past the page edge. */
  .table-wrap { overflow-x: auto; position: relative; }
  table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
  th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid #d8dee4; vertical-align: top; }
  th { background: #f3f5f7; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`
