import mongoose from "mongoose";
import { coverageOf, declaredIndexes, indexName, type DeclaredIndex } from "./coverage-rule";
import { describeShape, shapesOfCommand, type QueryShape } from "./query-shape";

/**
 * The rule the index-coverage check applies (coverage-rule.ts), written out by hand from MongoDB's
 * planner documentation (ESR, sort by index), not derived from the code under test: covered and
 * uncovered examples on a small, made-up set of indexes.
 */
const index = (keys: Record<string, 1 | -1>, options: { sparse?: boolean } = {}): DeclaredIndex => ({
  collection: "people",
  keys: Object.entries(keys).map(([path, direction]) => ({ path, direction })),
  sparse: options.sparse ?? false,
  unique: false,
});
const indexes = [
  index({ _id: 1 }),
  index({ org: 1, created: 1, _id: 1 }),
  index({ org: 1, nameLower: 1 }),
  index({ org: 1, at: -1, _id: -1 }),
  index({ org: 1, groups: 1, _id: 1 }),
  index({ expiresAt: 1 }),
  index({ "outbox._id": 1 }, { sparse: true }),
];

const find = (filter: Record<string, unknown>, sort?: Record<string, 1 | -1>): QueryShape => shapesOfCommand("find", { find: "people", filter, ...(sort ? { sort } : {}) })[0]!;
const servedBy = (shape: QueryShape) => coverageOf(shape, indexes)?.map((use) => indexName(use.index));

describe("the index-coverage rule", () => {
  it.each<[string, QueryShape, string[] | undefined]>([
    ["an _id equality", find({ _id: "u1" }), ["_id_1"]],
    ["an _id $in", find({ _id: { $in: ["a", "b"] } }), ["_id_1"]],
    ["equality on an index's first field", find({ org: "o" }), expect.arrayContaining([expect.stringMatching(/^org_1/)]) as unknown as string[]],
    ["equality on both fields, in the other order", find({ nameLower: "ann", org: "o" }), ["org_1_nameLower_1"]],
    ["the index with the longest equality prefix", find({ org: "o", groups: "g", _id: { $exists: true } }), ["org_1_groups_1__id_1"]],
    ["equality then a range on the next field", find({ org: "o", nameLower: { $gte: "a", $lt: "b" } }), ["org_1_nameLower_1"]],
    ["equality then an anchored, case-sensitive regex", find({ org: "o", nameLower: { $regex: "^an" } }), ["org_1_nameLower_1"]],
    ["a range alone on an index's first field", find({ expiresAt: { $lt: new Date() } }), ["expiresAt_1"]],
    ["equality with residual conditions the index does not hold", find({ org: "o", title: { $ne: "x" }, deletedAt: { $exists: false } }), expect.arrayContaining([expect.stringMatching(/^org_1/)]) as unknown as string[]],
    ["equality, then the sort in index order (ESR)", find({ org: "o" }, { created: 1, _id: 1 }), ["org_1_created_1__id_1"]],
    ["equality, then the sort exactly reversed", find({ org: "o" }, { created: -1, _id: -1 }), ["org_1_created_1__id_1"]],
    ["equality, sort, and a range on the sort field", find({ org: "o", at: { $lt: new Date() } }, { at: -1, _id: -1 }), ["org_1_at_-1__id_-1"]],
    ["a sort an index serves with no filter (an index scan in order)", find({}, { expiresAt: 1 }), ["expiresAt_1"]],
    ["a sort key compared for equality is skipped", find({ org: "o", groups: "g" }, { groups: 1, _id: 1 }), ["org_1_groups_1__id_1"]],
    ["the sparse index, for documents that have the field", find({ "outbox._id": { $exists: true } }), ["outbox._id_1"]],
    ["an $or whose every branch is served", find({ $or: [{ expiresAt: { $lt: new Date() } }, { _id: "x" }] }), ["expiresAt_1", "_id_1"]],
    ["an $or inside a served conjunction (keyset continuation)", find({ org: "o", $and: [{ $or: [{ at: { $lt: 1 } }, { at: 1, _id: { $lt: "e" } }] }] }, { at: -1, _id: -1 }), ["org_1_at_-1__id_-1"]],
    ["a count with equality (countDocuments' pipeline)", shapesOfCommand("aggregate", { aggregate: "people", pipeline: [{ $match: { org: "o" } }, { $group: { _id: 1, n: { $sum: 1 } } }] })[0]!, expect.arrayContaining([expect.stringMatching(/^org_1/)]) as unknown as string[]],
    ["an update by _id", shapesOfCommand("update", { update: "people", updates: [{ q: { _id: new mongoose.Types.ObjectId() }, u: { $set: { a: 1 } } }] })[0]!, ["_id_1"]],
  ])("serves %s", (_name, shape, expected) => {
    expect(servedBy(shape)).toEqual(expected);
  });

  it.each<[string, QueryShape]>([
    ["an empty filter (a collection scan)", find({})],
    ["equality on a field no index begins with", find({ nameLower: "ann" })],
    ["a field that is only second in every index", find({ groups: "g" })],
    ["a negation alone", find({ org: { $ne: "o" } })],
    ["$exists: true on an ordinary index (every document is in it)", find({ expiresAt: { $exists: true } })],
    ["$exists: false alone", find({ deletedAt: { $exists: false } })],
    ["an unanchored regex on an index's first field", find({ expiresAt: { $regex: "x" } })],
    ["a case-insensitive anchored regex", find({ _id: { $regex: "^o/", $options: "i" } })],
    ["a sort that does not follow the equality prefix (an in-memory sort)", find({ org: "o" }, { title: 1 })],
    ["a sort missing the tie-breaker the index lacks", find({ org: "o" }, { nameLower: 1, _id: 1 })],
    ["a sort in mixed directions against the index", find({ org: "o" }, { created: 1, _id: -1 })],
    ["an equality the only index that sorts does not begin with (a whole-index walk)", find({ org: "o" }, { _id: 1 })],
    ["the sparse index asked for a sort alone", find({}, { "outbox._id": 1 })],
    ["an $or with one branch that scans", find({ $or: [{ expiresAt: { $lt: new Date() } }, { title: "x" }] })],
    ["a count on a field no index begins with", shapesOfCommand("aggregate", { aggregate: "people", pipeline: [{ $match: { title: "x" } }, { $group: { _id: 1, n: { $sum: 1 } } }] })[0]!],
    ["a delete on a field no index begins with", shapesOfCommand("delete", { delete: "people", deletes: [{ q: { title: "x" }, limit: 0 }] })[0]!],
    ["a collection with no index but _id", { ...find({ org: "o" }), collection: "elsewhere" }],
  ])("does not serve %s", (_name, shape) => {
    expect(coverageOf(shape, indexes)).toBeUndefined();
  });
});

describe("query shapes read from the driver's commands", () => {
  it("drops values and keeps field paths, operator kinds and sort", () => {
    const [shape] = shapesOfCommand("find", {
      find: "users",
      filter: { organizationId: "o", "emails.value": /^ann/, active: true, title: { $in: ["a"] }, nickName: { $ne: "x" }, deletedAt: { $exists: false }, lastModified: { $gt: new Date() } },
      sort: { created: 1, _id: 1 },
    });
    expect(describeShape(shape!)).toBe(
      "users.find {active: eq, deletedAt: not-exists, emails.value: regex-prefix, lastModified: range, nickName: ne, organizationId: eq, title: in} sort {created: 1, _id: 1}",
    );
  });

  it("reads countDocuments' pipeline as a count and each statement of an update or delete", () => {
    expect(shapesOfCommand("aggregate", { aggregate: "users", pipeline: [{ $match: { organizationId: "o" } }, { $skip: 0 }, { $group: { _id: 1, n: { $sum: 1 } } }] }).map(describeShape)).toEqual([
      "users.count {organizationId: eq}",
    ]);
    expect(shapesOfCommand("delete", { delete: "s", deletes: [{ q: { _id: { $in: ["a"] } } }, { q: { at: { $lt: 1 } } }] }).map(describeShape)).toEqual(["s.delete {_id: in}", "s.delete {at: range}"]);
    expect(shapesOfCommand("findAndModify", { findAndModify: "g", query: { _id: "x", version: 3 }, update: {} }).map(describeShape)).toEqual(["g.findAndModify {_id: eq, version: eq}"]);
    expect(shapesOfCommand("distinct", { distinct: "users", key: "groups", query: { organizationId: "o" } }).map(describeShape)).toEqual(["users.distinct {organizationId: eq}"]);
  });

  it("ignores commands that filter nothing", () => {
    expect(shapesOfCommand("insert", { insert: "users", documents: [{}] })).toEqual([]);
    expect(shapesOfCommand("getMore", { getMore: 1, collection: "users" })).toEqual([]);
    expect(shapesOfCommand("createIndexes", { createIndexes: "users", indexes: [] })).toEqual([]);
  });
});

describe("the declared indexes", () => {
  it("are read from the application's models, each collection with its _id index", () => {
    const declared = declaredIndexes();
    expect(declared.filter((i) => i.collection === "users").map(indexName)).toEqual(expect.arrayContaining(["_id_1", "organizationId_1_userNameLower_1"]));
    expect(declared.filter((i) => i.collection === "lookup_keys").map(indexName)).toEqual(["_id_1"]);
  });
});
