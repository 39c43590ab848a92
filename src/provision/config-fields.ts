import { ProvisionConfigError } from './provision-error.js';

// Readers for one provider's JSON config. Each names the key (its full path) in the error it throws.

export type Json = Record<string, unknown>;

export function objectAt(value: unknown, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProvisionConfigError(key, `must be an object, got ${describe(value)}`);
  }
  return value as Json;
}

/** Unknown keys are errors: a typo must not silently fall back to a default. */
export function onlyKeys(raw: Json, known: string[], prefix = ''): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new ProvisionConfigError(`${prefix}${key}`, `unknown key (known: ${known.join(', ')})`);
    }
  }
}

export function requiredString(raw: Json, key: string, prefix = '', example = ''): string {
  const value = optionalString(raw, key, prefix);
  if (value === undefined) {
    throw new ProvisionConfigError(`${prefix}${key}`, `required${example ? ` (e.g. ${JSON.stringify(example)})` : ''}`);
  }
  return value;
}

export function optionalString(raw: Json, key: string, prefix = ''): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new ProvisionConfigError(`${prefix}${key}`, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Like optionalString, but '' is allowed (an empty MySQL password). */
export function optionalText(raw: Json, key: string, prefix = ''): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ProvisionConfigError(`${prefix}${key}`, `must be a string, got ${describe(value)}`);
  return value;
}

export function optionalInt(raw: Json, key: string, min: number, max: number, prefix = ''): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ProvisionConfigError(`${prefix}${key}`, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

export function optionalPort(raw: Json, key: string, prefix = ''): number | undefined {
  return optionalInt(raw, key, 1, 65535, prefix);
}

export function optionalBoolean(raw: Json, key: string, prefix = ''): boolean | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new ProvisionConfigError(`${prefix}${key}`, `must be true or false, got ${describe(value)}`);
  return value;
}

export function optionalStringList(raw: Json, key: string, prefix = ''): string[] | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new ProvisionConfigError(`${prefix}${key}`, `must be a list of non-empty strings, got ${describe(value)}`);
  }
  return value as string[];
}

export function optionalChoice<T extends string>(raw: Json, key: string, choices: readonly T[], prefix = ''): T | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (!choices.includes(value as T)) {
    throw new ProvisionConfigError(`${prefix}${key}`, `must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}
