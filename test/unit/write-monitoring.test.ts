import { mongo } from "mongoose";
import { changeOf } from "../../src/storage/write-monitoring";

/**
 * Which documents a write command touches, as the CLI records them in the change journal: the
 * commands are written out as the driver sends them (OP_MSG bodies), not derived from the code.
 */
describe("changeOf", () => {
  it.each([
    ["insert", { insert: "scim_tokens", documents: [{ _id: "t1" }, { _id: "t2" }] }, { collection: "scim_tokens", ids: ["t1", "t2"] }],
    ["insert", { insert: "audit_events", documents: [{ _id: new mongo.ObjectId("0123456789abcdef01234567") }] }, { collection: "audit_events", ids: ["0123456789abcdef01234567"] }],
    ["update", { update: "organizations", updates: [{ q: { _id: "o1" }, u: { $set: { seatLimit: 1 } } }] }, { collection: "organizations", ids: ["o1"] }],
    ["update", { update: "users", updates: [{ q: { _id: "u1", version: 3 }, u: { $set: { active: false } } }] }, { collection: "users", ids: ["u1"] }],
    ["update", { update: "users", updates: [{ q: { _id: { $in: ["u1", "u2"] } }, u: { $set: { x: 1 } }, multi: true }] }, { collection: "users", ids: ["u1", "u2"] }],
    ["update", { update: "users", updates: [{ q: { organizationId: "o1" }, u: { $set: { x: 1 } }, multi: true }] }, { collection: "users", ids: "all" }],
    ["update", { update: "auth_failures", updates: [{ q: { _id: { $gt: "a" } }, u: { $set: { x: 1 } } }] }, { collection: "auth_failures", ids: "all" }],
    ["delete", { delete: "sessions", deletes: [{ q: { _id: "s1" }, limit: 1 }, { q: { _id: "s2" }, limit: 1 }] }, { collection: "sessions", ids: ["s1", "s2"] }],
    ["delete", { delete: "sessions", deletes: [{ q: { expiresAt: { $lt: new Date() } }, limit: 0 }] }, { collection: "sessions", ids: "all" }],
    ["findAndModify", { findAndModify: "auth_failures", query: { _id: "ip@1" }, update: { $inc: { count: 1 } }, upsert: true }, { collection: "auth_failures", ids: ["ip@1"] }],
    ["findAndModify", { findAndModify: "users", query: { userName: "x" }, remove: true }, { collection: "users", ids: "all" }],
  ])("%s %j", (name, command, expected) => {
    expect(changeOf(name, command)).toEqual(expected);
  });

  it("ignores commands that write nothing", () => {
    expect(changeOf("find", { find: "scim_tokens", filter: { _id: "t1" } })).toBeUndefined();
    expect(changeOf("createIndexes", { createIndexes: "users", indexes: [] })).toBeUndefined();
  });
});
