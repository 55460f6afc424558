/**
 * Making deceptive text visible: descriptions come from live keys, which anyone with access to the hub can
 * name, so a zero-width space, a right-to-left override or another invisible character must never reach a
 * terminal or a PR comment as itself — `"CI upl\u200Boader"` must not look like `"CI uploader"`, and U+202E must
 * not reorder a printed line. Every renderer quotes user text through here. Pure.
 */

/** Invisible, bidi-control, private-use, unassigned and other non-printing characters (and line separators). */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

function escapeCodePoint(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${cp.toString(16).toUpperCase()}}` : `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `text` with every hidden character written as `\uXXXX` (a backslash stays as it is). */
export function revealHidden(text: string): string {
  return text.replace(HIDDEN, escapeCodePoint);
}

/** A JSON-quoted string with hidden characters made visible: how text and logs show descriptions. */
export function quoteVisible(text: string): string {
  // JSON.stringify escapes C0 controls and quotes; the rest of the hidden set is escaped here.
  return revealHidden(JSON.stringify(text));
}
