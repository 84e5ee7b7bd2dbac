import { getMetadataStorage, MetadataStorage } from 'class-validator';

type Rules = ReturnType<MetadataStorage['getTargetValidationMetadatas']>;
type RulesByProperty = ReturnType<MetadataStorage['groupByPropertyName']>;

const installed = new WeakSet<MetadataStorage>();

/**
 * class-validator looks a class's rules up again on every validate() call: it filters the
 * class's own rules, tests every class that has rules for being a parent of it (an
 * instanceof per class), then groups the result by property. The answer only changes when
 * a rule is added (a decorated class being defined), so it is kept per class and options
 * and forgotten whenever a rule is added. Validation groups and schemas, which this API
 * does not use, are looked up as before. Same rules, same errors: only the lookup is saved.
 */
export function cacheValidationRules(storage: MetadataStorage = getMetadataStorage()): void {
  if (installed.has(storage)) return;
  installed.add(storage);
  const lookUp = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  const addRule = storage.addValidationMetadata.bind(storage);
  let rulesOf = new WeakMap<object, Map<string, Rules>>();
  const grouped = new WeakMap<Rules, RulesByProperty>();

  storage.addValidationMetadata = (metadata) => {
    rulesOf = new WeakMap();
    addRule(metadata);
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (schema !== undefined || (groups && groups.length > 0))
      return lookUp(target, schema, always, strictGroups, groups);
    const options = `${always}:${strictGroups}`;
    let byOptions = rulesOf.get(target);
    if (!byOptions) rulesOf.set(target, (byOptions = new Map<string, Rules>()));
    let rules = byOptions.get(options);
    if (!rules) byOptions.set(options, (rules = lookUp(target, schema, always, strictGroups)));
    return rules;
  };
  storage.groupByPropertyName = (rules) => {
    let byProperty = grouped.get(rules);
    if (!byProperty) grouped.set(rules, (byProperty = group(rules)));
    return byProperty;
  };
}
