import { Type, type TSchema, type TUnsafe } from 'typebox';

/** The one error shape of the API. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    problems: Type.Optional(Type.Array(Type.String(), { description: 'every problem found, when there are several' })),
  }),
});

/**
 * A string from a fixed list, as a JSON-schema enum (a union of literals
 * would make the validator report each literal separately).
 */
export const StringEnum = <T extends string>(values: readonly T[], options: { description?: string } = {}): TUnsafe<T> =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

/** A value or null. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
