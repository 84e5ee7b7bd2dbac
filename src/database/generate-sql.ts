/** One way to build a statement: a name for it, and the arguments to build it with. */
export interface SqlVariant {
  /** Said after the method in the file's header, when a method has several variants. */
  name?: string;
  /** Example arguments; without them the builder gets stand-ins (see preparedQuery). */
  params?: unknown[];
}

/** A repository method that builds one of the statements whose SQL is committed for review. */
export interface SqlBuilder {
  repository: abstract new (...args: never[]) => object;
  method: string;
  variants: SqlVariant[];
}

const builders: SqlBuilder[] = [];

/**
 * Marks a repository method that returns a query (built, not run) whose compiled SQL
 * `npm run sql:sync` writes to src/queries/<repository file>.sql, and `npm run sql:check`
 * keeps current (immich's @GenerateSql): a review reads the SQL itself. A builder used
 * through preparedQuery needs no arguments: it is built from stand-ins, as at run time. One
 * whose shape depends on its arguments names examples, one variant per shape worth reading.
 */
export function GenerateSql(...variants: SqlVariant[]): MethodDecorator {
  return (target, key) => {
    builders.push({
      repository: target.constructor as SqlBuilder['repository'],
      method: String(key),
      variants: variants.length > 0 ? variants : [{}],
    });
  };
}

/** Every builder marked so far (those of the modules loaded). */
export function sqlBuilders(): readonly SqlBuilder[] {
  return builders;
}
