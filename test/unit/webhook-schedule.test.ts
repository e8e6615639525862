import { defaultDeliverySchedule, retryDelayMs } from "../../src/services/webhooks";
import { directoryEventTypeOf } from "../../src/domain/directory-events";
import { isInternalAddress } from "../../src/services/webhook-sender";

describe("the webhook retry schedule (written out by hand)", () => {
  it("doubles from 5 s up to 5 hours, and gives up after three days", () => {
    expect([1, 2, 3, 4, 5, 12, 13, 30].map((n) => retryDelayMs(defaultDeliverySchedule, n))).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 10_240_000, 18_000_000, 18_000_000]);
    expect(defaultDeliverySchedule.retryWindowMs).toBe(72 * 3_600_000);
  });
});

describe("audit action → directory event type", () => {
  it.each([
    ["user.provisioned", "member.provisioned"],
    ["user.deactivated", "member.deactivated"],
    ["user.reactivated", "member.reactivated"],
    ["user.suspended", "member.suspended"],
    ["user.unsuspended", "member.lifted"],
    ["user.access_changed", "member.access_changed"],
    ["user.access_revoked", "session.revoked"],
    ["group.members_changed", "group.membership_changed"],
    ["offboarding.scheduled", "offboarding.scheduled"],
    ["scim_token.created", undefined],
    ["user.signed_in", undefined],
  ])("%s → %s", (action, type) => {
    expect(directoryEventTypeOf({ action, target: { type: "user", id: "u" } })).toBe(type);
  });

  it("group.updated is a rename only when the display name changed", () => {
    const target = { type: "group", id: "g" };
    expect(directoryEventTypeOf({ action: "group.updated", target, before: { displayName: "A" }, after: { displayName: "B" } })).toBe("group.renamed");
    expect(directoryEventTypeOf({ action: "group.updated", target, before: { displayName: "A", externalId: "1" }, after: { displayName: "A", externalId: "2" } })).toBeUndefined();
  });
});

describe("internal destinations", () => {
  it.each([
    ["127.0.0.1", true], ["10.0.0.8", true], ["172.16.5.4", true], ["172.32.0.1", false], ["192.168.0.1", true], ["169.254.169.254", true],
    ["100.64.0.1", true], ["0.0.0.0", true], ["::1", true], ["fe80::1", true], ["fd00::1", true], ["::ffff:127.0.0.1", true], ["::ffff:8.8.8.8", false],
    ["8.8.8.8", false], ["2606:4700::1111", false], ["not-an-address", true],
  ])("%s → %s", (address, internal) => {
    expect(isInternalAddress(address)).toBe(internal);
  });
});
