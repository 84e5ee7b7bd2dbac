/**
 * A keyset read, page by page: each query starts after the last row of the page before
 * (its key), and a short page is the last. Every read of an export goes this way, so
 * memory holds one page however much there is.
 */
export async function* keysetPages<R, K>(
  first: K,
  limit: number,
  read: (after: K) => Promise<R[]>,
  keyOf: (row: R) => K,
): AsyncGenerator<R[]> {
  for (let after = first; ;) {
    const page = await read(after);
    if (page.length > 0) yield page;
    if (page.length < limit) return;
    after = keyOf(page[page.length - 1]);
  }
}
