/** Shared by the benchmark scripts: the median of repeated runs (what every figure in the README quotes). */
'use strict';

/** The median of a list of numbers (the mean of the middle two for an even count). */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

module.exports = { median };
