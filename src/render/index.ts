/**
 * Renderers: a `Plan` as Terraform-like text, as a GitHub PR comment in Markdown, or as the stable JSON document.
 * Pure; the caller decides colour (TTY, NO_COLOR) and where the text goes. Keys are shown by description, uuid
 * and the API's masked preview, never by a secret (plans hold none).
 */
export { renderText, type TextRenderOptions } from './text';
export { renderMarkdown, escapeMarkdown, type MarkdownRenderOptions } from './markdown';
export { summaryLine } from './text';
export { renderJson } from './json';
export { RISKY_PERMISSIONS, isRisky, riskReason } from './risk';
