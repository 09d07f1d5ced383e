/**
 * Loads src/graphql/schema.graphql (the published SDL) at start and attaches the hand-written
 * resolver maps and scalars to it. Every Query, Mutation and Subscription field must have a
 * resolver, and every resolver must name a real field: mistakes fail at start, not at request time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_DEPTH_MESSAGE, valueTooDeep } from '../protocol/json-depth.js';
import {
  buildSchema,
  GraphQLError,
  GraphQLInterfaceType,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLUnionType,
  Kind,
  valueFromASTUntyped,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type GraphQLTypeResolver,
  type ValueNode,
} from 'graphql';
import { isValidSocketId } from '../protocol/names.js';
import type { GraphQLContext } from './context/auth.js';
import { ErrorCode } from './errors.js';

// Resolvers receive loosely typed parents and arguments; each resolver file narrows them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Resolver = GraphQLFieldResolver<any, GraphQLContext, any>;
export interface SubscriptionResolver {
  subscribe: Resolver;
  resolve?: Resolver;
}
export type TypeResolvers = Record<string, Resolver | SubscriptionResolver> & { __resolveType?: GraphQLTypeResolver<unknown, GraphQLContext> };
export type ResolverMap = Record<string, TypeResolvers>;

/** Where the SDL lives: next to this file in src/, or copied next to the compiled file in dist/. */
export function schemaPath(): string {
  const candidates = [new URL('./schema.graphql', import.meta.url), new URL('../../src/graphql/schema.graphql', import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new Error(`GraphQL schema file not found (looked for ${candidates.map((u) => fileURLToPath(u)).join(' and ')})`);
}

export function loadSchemaText(): string {
  return readFileSync(schemaPath(), 'utf8');
}

const badScalar = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.BadUserInput } });

const SCALARS: Record<string, Pick<GraphQLScalarType, 'serialize' | 'parseValue' | 'parseLiteral'>> = {
  JSON: {
    serialize: (value) => value,
    parseValue: (value) => {
      if (valueTooDeep(value)) throw badScalar(JSON_DEPTH_MESSAGE);
      return value;
    },
    parseLiteral: (ast: ValueNode, variables?: Record<string, unknown> | null) => {
      const value: unknown = valueFromASTUntyped(ast, variables ?? undefined);
      if (valueTooDeep(value)) throw badScalar(JSON_DEPTH_MESSAGE);
      return value;
    },
  },
  DateTime: {
    serialize: (value) => {
      const date = value instanceof Date ? value : new Date(value as string | number);
      if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
      return date.toISOString();
    },
    parseValue: (value) => parseDate(value),
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING) throw badScalar('DateTime must be an ISO-8601 string');
      return parseDate(ast.value);
    },
  },
  SocketID: {
    serialize: (value) => String(value),
    parseValue: (value) => parseSocketId(value),
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING) throw badScalar('SocketID must be a string like "1234.5678"');
      return parseSocketId(ast.value);
    },
  },
};

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || value.length > 64 || Number.isNaN(Date.parse(value))) throw badScalar('DateTime must be an ISO-8601 string');
  return new Date(value);
}

function parseSocketId(value: unknown): string {
  if (!isValidSocketId(value)) throw badScalar(`Invalid socket id ${JSON.stringify(String(value).slice(0, 64))}: expected two numbers joined by a dot, e.g. "1234.5678"`);
  return value;
}

/** Builds the executable schema: SDL + scalars + resolvers. */
export function buildExecutableSchema(sdl: string, resolvers: ResolverMap): GraphQLSchema {
  const schema = buildSchema(sdl);
  for (const [name, impl] of Object.entries(SCALARS)) {
    const type = schema.getType(name);
    if (!(type instanceof GraphQLScalarType)) throw new Error(`GraphQL schema: scalar ${name} is missing`);
    Object.assign(type, impl);
  }
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (type instanceof GraphQLInterfaceType || type instanceof GraphQLUnionType) {
      if (!fields.__resolveType) throw new Error(`GraphQL schema: ${typeName} needs __resolveType`);
      type.resolveType = fields.__resolveType;
      continue;
    }
    if (!(type instanceof GraphQLObjectType)) throw new Error(`GraphQL resolvers: ${typeName} is not an object type of the schema`);
    const typeFields = type.getFields();
    for (const [fieldName, resolver] of Object.entries(fields)) {
      if (fieldName === '__resolveType') throw new Error(`GraphQL resolvers: ${typeName} is an object type; __resolveType is for interfaces`);
      const field = typeFields[fieldName];
      if (!field) throw new Error(`GraphQL resolvers: ${typeName}.${fieldName} is not in the schema`);
      if (typeof resolver === 'function') {
        field.resolve = resolver as Resolver;
      } else if (resolver && typeof resolver === 'object') {
        const sub = resolver as SubscriptionResolver;
        field.subscribe = sub.subscribe;
        if (sub.resolve) field.resolve = sub.resolve;
      }
    }
  }
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const ready = root === schema.getSubscriptionType() ? field.subscribe : field.resolve;
      if (!ready) throw new Error(`GraphQL resolvers: ${root.name}.${field.name} has no resolver`);
    }
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if ((type instanceof GraphQLInterfaceType || type instanceof GraphQLUnionType) && !type.name.startsWith('__') && !type.resolveType) {
      throw new Error(`GraphQL resolvers: ${type.name} needs __resolveType`);
    }
  }
  return schema;
}
