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

/** Reads one parameter's value from a call's input: the slot's path, split once. */
function reader(path: string): (input: unknown) => unknown {
  const keys = path.split('.');
  if (keys.length === 1) {
    const [key] = keys;
    return (input) => (input as Record<string, unknown> | undefined)?.[key];
  }
  return (input) =>
    keys.reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], input);
}

/** The query built from stand-ins and compiled: its SQL, whatever the input. */
export function compileWithStandIns<I, R>(build: (input: I) => Compilable<R>): CompiledQuery<R> {
  return build(slots('') as I).compile();
}

/**
 * The query built from stand-ins and compiled, and how a call's input becomes its
 * parameters: each parameter read from its slot's path, or the constant the builder put.
 */
function compileOnce<I, R>(
  build: (input: I) => Compilable<R>,
): { compiled: CompiledQuery<R>; bind: (input: I) => unknown[] } {
  const compiled = compileWithStandIns(build);
  const readers = compiled.parameters.map((p) => (p instanceof Slot ? reader(p.path) : () => p));
  return { compiled, bind: (input) => readers.map((read) => read(input) ?? null) };
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
  const run = preparedStatement(db, build);
  return async (input) => (await run(input)).rows;
}

/** preparedQuery for a statement whose result is more than its rows (rows updated). */
export function preparedStatement<I, R>(
  db: QueryRunner,
  build: (input: I) => Compilable<R>,
): (input: I) => Promise<QueryResult<R>> {
  let prepared: ReturnType<typeof compileOnce<I, R>> | undefined;
  return async (input) => {
    prepared ??= compileOnce(build);
    const { compiled, bind } = prepared;
    return db.executeQuery<R>({ ...compiled, parameters: bind(input) });
  };
}
