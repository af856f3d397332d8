/**
 * Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short strings.
 * Config keys are short, so the plain dynamic programme is fast enough.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const table: number[][] = Array.from({ length: rows }, (_, row) =>
    Array.from({ length: cols }, (_, col) => (row === 0 ? col : col === 0 ? row : 0)),
  );
  for (let row = 1; row < rows; row++) {
    for (let col = 1; col < cols; col++) {
      const cost = a[row - 1] === b[col - 1] ? 0 : 1;
      const current = table[row] as number[];
      const previous = table[row - 1] as number[];
      let best = Math.min(
        (previous[col] as number) + 1,
        (current[col - 1] as number) + 1,
        (previous[col - 1] as number) + cost,
      );
      if (row > 1 && col > 1 && a[row - 1] === b[col - 2] && a[row - 2] === b[col - 1]) {
        best = Math.min(best, ((table[row - 2] as number[])[col - 2] as number) + 1);
      }
      current[col] = best;
    }
  }
  return (table[rows - 1] as number[])[cols - 1] as number;
}

/**
 * The candidate closest to `name`, when it is close enough to be a likely typo: the same name in
 * another case, or at most a third of its length (at least 1, at most 3) edits away; names shorter
 * than 3 characters match only in another case.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // One edit turns any one- or two-letter name into another, so short names only match by case.
  const allowed = name.length < 3 ? 0 : Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}
