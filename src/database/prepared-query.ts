import type { Compilable, CompiledQuery, QueryResult } from 'kysely';

interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** Stands in for an input value while a query is built once. */
class Slot {
  constructor(readonly path: string) {}
}

/** An object whose every field (at any depth) is the Slot of its path. */
function slots(path: string): unknown {
  return new Proxy(new Slot(path), {
    get: (target, key): unknown =>
      typeof key === 'string' && key !== 'path' && key !== 'constructor'
        ? slots(path ? `${path}.${key}` : key)
        : (Reflect.get(target, key) as unknown),
  });
}

function valueAt(input: unknown, keys: readonly string[]): unknown {
  let value = input;
  for (const key of keys) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

/**
 * A query whose shape never depends on its input, built and compiled once: building a
 * CTE with Kysely costs more CPU than running it, so the hot paths reuse the compiled SQL
 * and bind each call's values in the order the compiler placed them. The builder must
 * use the input only as values (no branching on it).
 */
export function preparedQuery<I, R>(
  db: QueryRunner,
  build: (input: I) => Compilable<R>,
): (input: I) => Promise<R[]> {
  let compiled: CompiledQuery<R> | undefined;
  let bind: ((input: I) => unknown[]) | undefined;
  return async (input) => {
    if (!compiled || !bind) {
      compiled = build(slots('') as I).compile();
      // Each slot's path split once: binding runs on every call of a hot read.
      const params = compiled.parameters.map((p): { keys: string[] } | { constant: unknown } =>
        p instanceof Slot ? { keys: p.path.split('.') } : { constant: p },
      );
      bind = (values) =>
        params.map((p) => ('keys' in p ? (valueAt(values, p.keys) ?? null) : p.constant));
    }
    const result = await db.executeQuery<R>({ ...compiled, parameters: bind(input) });
    return result.rows;
  };
}
