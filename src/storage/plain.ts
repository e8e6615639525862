/**
 * A value as the driver should store it when no mongoose schema casts it: Dates stay Dates,
 * fields that are undefined disappear (the driver would otherwise write them as null), and no
 * shared references to the caller's objects remain.
 */
export function plainData<T>(value: T): T {
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(plainData) as T;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plainData(v)])) as T;
}
