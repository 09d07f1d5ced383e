/**
 * Cost of the introspection part of an operation, as an upper bound on the number of values its
 * answer holds. Introspection needs no credentials, and the field count alone does not bound its
 * answer: `__schema { types { fields { type { fields … } } } }` multiplies at every list, and
 * aliases repeat whole walks. Each list counts as the largest such list in this schema (every
 * type's fields counts as the type with the most fields), so the bound holds for any query; a
 * full `getIntrospectionQuery()` of Herald's schema stays well inside GRAPHQL_LIMITS.
 */
import {
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  isInputObjectType,
  isEnumType,
  isUnionType,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Lists outside introspection are not costed here; an unknown list counts as this many items. */
const UNKNOWN_LIST_SIZE = 100;

const listSizesBySchema = new WeakMap<GraphQLSchema, Map<string, number>>();

/** The longest list each introspection field can return for this schema, keyed `Type.field`. */
export function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const cached = listSizesBySchema.get(schema);
  if (cached) return cached;
  const types = Object.values(schema.getTypeMap());
  const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);
  const fieldsOf = (t: GraphQLNamedType): GraphQLField<unknown, unknown>[] =>
    isObjectType(t) || isInterfaceType(t) ? Object.values(t.getFields()) : [];
  const directives = schema.getDirectives();
  const sizes = new Map<string, number>([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', max(types.map((t) => fieldsOf(t).length))],
    ['__Type.inputFields', max(types.map((t) => (isInputObjectType(t) ? Object.keys(t.getFields()).length : 0)))],
    ['__Type.enumValues', max(types.map((t) => (isEnumType(t) ? t.getValues().length : 0)))],
    ['__Type.interfaces', max(types.map((t) => (isObjectType(t) || isInterfaceType(t) ? t.getInterfaces().length : 0)))],
    ['__Type.possibleTypes', max(types.map((t) => (isUnionType(t) || isInterfaceType(t) ? schema.getPossibleTypes(t).length : 0)))],
    ['__Field.args', max(types.flatMap((t) => fieldsOf(t).map((f) => f.args.length)))],
    ['__Directive.args', max(directives.map((d) => d.args.length))],
    ['__Directive.locations', max(directives.map((d) => d.locations.length))],
  ]);
  listSizesBySchema.set(schema, sizes);
  return sizes;
}

interface Walk {
  schema: GraphQLSchema;
  sizes: Map<string, number>;
  fragment: (name: string) => FragmentDefinitionNode | undefined;
  active: Set<string>;
  visits: number;
  maxVisits: number;
}

/**
 * Upper bound on the values the operation's introspection fields (`__schema`, `__type` at the
 * root) put in the answer; Infinity when the document is too large to cost within `maxVisits`.
 */
export function introspectionCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragment: (name: string) => FragmentDefinitionNode | undefined,
  maxVisits = 10_000,
): number {
  const root = schema.getQueryType();
  if (operation.operation !== 'query' || !root) return 0;
  const walk: Walk = { schema, sizes: introspectionListSizes(schema), fragment, active: new Set(), visits: 0, maxVisits };
  return rootCost(walk, operation.selectionSet);
}

function rootCost(walk: Walk, selectionSet: SelectionSetNode): number {
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (++walk.visits > walk.maxVisits) return Infinity;
    if (selection.kind === 'Field') {
      const name = selection.name.value;
      const def = name === '__schema' ? SchemaMetaFieldDef : name === '__type' ? TypeMetaFieldDef : undefined;
      if (def) cost += 1 + nestedCost(walk, getNamedType(def.type), selection.selectionSet);
    } else if (selection.kind === 'InlineFragment') {
      cost += rootCost(walk, selection.selectionSet);
    } else {
      const spread = walk.fragment(selection.name.value);
      if (!spread || walk.active.has(spread.name.value)) continue;
      walk.active.add(spread.name.value);
      cost += rootCost(walk, spread.selectionSet);
      walk.active.delete(spread.name.value);
    }
    if (cost === Infinity) return cost;
  }
  return cost;
}

function nestedCost(walk: Walk, type: GraphQLNamedType, selectionSet: SelectionSetNode | undefined): number {
  if (!selectionSet) return 0;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (++walk.visits > walk.maxVisits) return Infinity;
    if (selection.kind === 'Field') {
      cost += fieldCost(walk, type, selection.name.value, selection.selectionSet);
    } else if (selection.kind === 'InlineFragment') {
      const condition = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : undefined;
      cost += nestedCost(walk, condition ?? type, selection.selectionSet);
    } else {
      const spread = walk.fragment(selection.name.value);
      if (!spread || walk.active.has(spread.name.value)) continue;
      walk.active.add(spread.name.value);
      cost += nestedCost(walk, walk.schema.getType(spread.typeCondition.name.value) ?? type, spread.selectionSet);
      walk.active.delete(spread.name.value);
    }
    if (cost === Infinity) return cost;
  }
  return cost;
}

function fieldCost(walk: Walk, parent: GraphQLNamedType, name: string, selectionSet: SelectionSetNode | undefined): number {
  if (name === '__typename') return 1;
  const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  // Unknown fields are refused by graphql-js's own validation.
  if (!def) return 1;
  const child = 1 + nestedCost(walk, getNamedType(def.type), selectionSet);
  if (!isListType(getNullableType(def.type))) return child;
  return 1 + (walk.sizes.get(`${parent.name}.${name}`) ?? UNKNOWN_LIST_SIZE) * child;
}
