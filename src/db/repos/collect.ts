/** Turns `(id, name)` rows into a map from each id to its names, in row order (for many-to-many lookups). */
export function namesById(rows: ReadonlyArray<{ id: number; name: string }>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const { id, name } of rows) {
    const list = out.get(id);
    if (list) list.push(name);
    else out.set(id, [name]);
  }
  return out;
}
