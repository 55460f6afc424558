/**
 * How a plain YAML scalar resolves under the YAML 1.2 core schema, as the precise path (`yaml`) resolves it: shared
 * by both fast tiers of reading a manifest (`yaml-lines`, `yaml-quick`). Imports nothing.
 */

/** Marks a plain scalar that the core schema leaves a string. */
export const STRING = Symbol('string');

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Every non-string core scalar starts with one of these; the rest skip the regular expressions. */
const MAY_BE_CORE = /^[~nNtTfF0-9+\-.]/;

/**
 * A plain scalar's value under the YAML 1.2 core schema: `yaml`'s core tags (yaml 2.x, `schema/core/*.js`) in
 * their order, with their resolve functions. `yes` stays a string. A unit test compares this with `yaml`.
 */
export function corePlainScalar(text: string): unknown {
  if (text !== '' && !MAY_BE_CORE.test(text)) return STRING;
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT_OCT.test(text)) return parseInt(text.substring(2), 8);
  if (INT.test(text)) return parseInt(text, 10);
  if (INT_HEX.test(text)) return parseInt(text.substring(2), 16);
  if (FLOAT_NAN.test(text)) {
    if (text.slice(-3).toLowerCase() === 'nan') return Number.NaN;
    return text[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (FLOAT_EXP.test(text) || FLOAT.test(text)) return parseFloat(text);
  return STRING;
}

