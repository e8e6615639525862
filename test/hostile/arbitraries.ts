import fc from "fast-check";

/**
 * Generators of hostile input shared by the edges' property tests: text that is not valid
 * Unicode, NUL, huge strings, truncated and deeply nested JSON, bytes that are not UTF-8, and
 * the headers that lie about a body (charset, Content-Encoding, Content-Type).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Strings no identity attribute may hold: lone surrogates (both halves, reversed pairs) and NUL. */
export const invalidText = fc.oneof(
  fc.tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0xd800, max: 0xdbff }), fc.string({ maxLength: 8 })).map(([a, s, b]) => `${a}${String.fromCharCode(s)}x${b}`),
  fc.tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0xdc00, max: 0xdfff })).map(([a, s]) => `${a}${String.fromCharCode(s)}`),
  fc.constantFrom("\ude00\ud83d", "lone\ud800x@example.com", "\udfff", "tail\ud800"),
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`),
);

/** A string of about 100 KB, of one of a few shapes. */
export const hugeString = fc.tuple(fc.constantFrom("a", "é", "😀", "<", "\""), fc.integer({ min: 100_000, max: 110_000 })).map(([unit, chars]) => unit.repeat(Math.ceil(chars / unit.length)));

/** Wrong JSON values for a string attribute (and their like for others). */
export const notAString: fc.Arbitrary<Json> = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant<Json>({}), fc.constant<Json>([]), fc.constant<Json>([1, 2]), fc.constant<Json>({ value: "x" }));
export const notABoolean: fc.Arbitrary<Json> = fc.oneof(fc.integer(), fc.constantFrom("yes", "no", "1", "0", "", "TRUE!"), fc.constant<Json>({}), fc.constant<Json>([true]));
export const notAnObject: fc.Arbitrary<Json> = fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/^(true|false)$/i.test(s)), fc.boolean(), fc.constant<Json>([1]), fc.constant<Json>(["a"]));
export const notAnArray: fc.Arbitrary<Json> = fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 10 }), fc.boolean(), fc.constant<Json>({ value: 1 }));

/** JSON text cut short somewhere inside (never at its end): never valid JSON. */
export function truncated(document: Json): fc.Arbitrary<string> {
  const text = JSON.stringify(document);
  return fc.integer({ min: 1, max: text.length - 1 }).map((at) => text.slice(0, at));
}

/** `{"<key>": <deeply nested arrays or objects>}` merged into a document, `depth` beyond any limit. */
export function deeplyNested(document: { [key: string]: Json }, keys: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...keys), fc.integer({ min: 33, max: 20_000 }), fc.constantFrom("array", "object", "mixed")).map(([key, depth, shape]) => {
    const open = shape === "array" ? "[".repeat(depth) : shape === "object" ? '{"a":'.repeat(depth) : '[{"a":'.repeat(Math.ceil(depth / 2));
    const close = shape === "array" ? "]".repeat(depth) : shape === "object" ? "}".repeat(depth) : "}]".repeat(Math.ceil(depth / 2));
    const text = JSON.stringify({ ...document, [key]: "__nested__" });
    return text.replace('"__nested__"', `${open}1${close}`);
  });
}

/** Every path to a string in a JSON value, with a function that replaces that string. */
function stringSlots(value: Json, replace: (v: Json) => Json = (v) => v): ((text: Json) => Json)[] {
  if (typeof value === "string") return [replace];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringSlots(item, (v) => replace(value.map((x, j) => (i === j ? v : x)))));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, item]) => stringSlots(item, (v) => replace({ ...value, [k]: v })));
  return [];
}

/** The document with one of its strings replaced by `text` (so the rest stays valid). */
export function withOneString(document: Json, text: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  const slots = stringSlots(document);
  return fc.tuple(fc.integer({ min: 0, max: slots.length - 1 }), text).map(([i, t]) => slots[i]!(t));
}

/** Bytes that are not UTF-8 somewhere inside an otherwise valid JSON document's string. */
export function notUtf8(document: Json): fc.Arbitrary<Buffer> {
  const bad = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80] /* an encoded surrogate (CESU-8) */, [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf] /* overlong "/" */];
  return fc.tuple(withOneString(document, fc.constant("\u0001MARK\u0001")), fc.constantFrom(...bad)).map(([doc, bytes]) => {
    const [before, after] = JSON.stringify(doc).split("\\u0001MARK\\u0001");
    return Buffer.concat([Buffer.from(before!, "utf8"), Buffer.from(bytes), Buffer.from(after!, "utf8")]);
  });
}

/** JSON text that is not JSON at all. */
export const garbageText = fc.oneof(
  fc.constantFrom("", " ", "{", "}", "[", "nul", "tru", "{'a':1}", '{"a":1,}', '{"a" 1}', "<xml/>", "userName=x", "\u0000", "{}}", '{"a":"\\x41"}', '{"a":01}', "NaN", '"\\ud800'),
  fc.string({ minLength: 1, maxLength: 50 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);

/** Headers that lie about, or refuse to say, what the body is. */
export const misleadingHeaders = fc.oneof(
  fc.constantFrom("text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "json", "application/json-patch+json").map((type) => ({ "content-type": type })),
  fc.constantFrom("koi8-r", "utf-16", "utf-16le", "iso-8859-1", "latin9", "bogus", "utf-32").map((charset) => ({ "content-type": `application/json; charset=${charset}` })),
  fc.constantFrom("gzip", "deflate", "br", "x-unknown", "gzip, gzip", "identity, br", "compress").map((encoding) => ({ "content-type": "application/json", "content-encoding": encoding })),
);
